"""`make report-check`: render page one of the report at 1400 px in headless Chromium, for review.

Uses exports/report.html when a pipeline run made one; otherwise runs the pipeline in memory on a
small generated data set and renders its report. Writes the screenshot to a git-ignored folder,
prints its path, and fails on a JavaScript error or a request that leaves the machine.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from chromium import open_page  # noqa: E402

OUT = ROOT / "logs" / "report-check"


def sample_report(language: str | None) -> str:
    """The report of an in-memory pipeline run on 3,000 generated customers."""
    from segml.app.params import compose
    from segml.app.pipeline import run_pipeline
    from segml.config import to_typed
    from segml.data.generate import generate
    from segml.models.scorers import importance
    from segml.models.segment import profile
    from segml.reporting.exports import build_exports, metrics_table
    from segml.reporting.report import ReportInputs
    from segml.tiering.reasons import feature_labels

    cfg = to_typed(compose([f"export.language={language}"] if language else [], ROOT / "conf"))
    data = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    demo = generate(3000, seed=7)
    result = run_pipeline(
        demo.transactions.astype(str),
        demo.customers.astype("string"),
        dataclasses.replace(cfg, data=data),
    )
    tiers, trained, snapshot = result.tiers, result.trained, result.datasets.snapshot
    inputs = ReportInputs(
        table=tiers.table,
        summary=tiers.summary,
        movement=tiers.movement,
        metrics=metrics_table(trained.metrics),
        grades={k: v["summary"] for k, v in trained.metrics.items()},
        profile=profile(
            snapshot,
            tiers.table[["customer_id", "segment", "persona", "persona_en", "persona_zh"]],
            list(cfg.segment.features),
        ),
        plots=trained.plots,
        importance=importance({"churn": trained.churn, "upside": trained.upside}),
        quality=result.prepared.quality,
        as_of=str(tiers.table["as_of"].iloc[0]),
        primary=cfg.tiering.primary,
        features=snapshot,
        feature_labels=feature_labels(snapshot.columns, cfg.tiering.reasons["names"]),
    )
    return build_exports(
        inputs, cfg.tiering.actions, ["low", "mid", "high"], cfg.export, None, cfg.tiering.teams
    ).report


def main() -> int:
    language = sys.argv[1] if len(sys.argv) > 1 else None
    existing = ROOT / "exports" / "report.html"
    OUT.mkdir(parents=True, exist_ok=True)
    if existing.exists() and not language:
        path = existing
    else:
        print(
            "no exports/report.html (or a language was given): building a sample report in memory..."
        )
        path = OUT / "report.html"
        with tempfile.NamedTemporaryFile(
            "w", dir=OUT, delete=False, suffix=".tmp", encoding="utf-8"
        ) as tmp:
            tmp.write(sample_report(language))
        Path(tmp.name).replace(path)
    page = open_page(path, width=1400, height=1800, screenshot=True)
    shot = OUT / "page-one.png"
    shot.write_bytes(page.screenshot)
    whole = open_page(path, width=1400, height=1800, screenshot=True, full_page=True)
    (OUT / "page-full.png").write_bytes(whole.screenshot)
    print(f"report:     {path}")
    print(f"screenshot: {shot} (1400 px wide, page one); the whole page: {OUT / 'page-full.png'}")
    print(
        "tables wider than their section at 1400 px: "
        + (", ".join(page.too_wide) if page.too_wide else "none")
    )
    print(
        f"charts drawn: {page.charts}; JavaScript errors: {len(page.errors)}; "
        f"external requests: {len(page.external_requests)}"
    )
    for problem in page.errors + page.external_requests:
        print(f"  {problem}")
    return 1 if page.errors or page.external_requests or page.too_wide else 0


if __name__ == "__main__":
    sys.exit(main())
