"""The export stage assembled: the report's inputs from the stages' results, then the shareable
table (`table`), the workbook (`workbook`) and the HTML report (`report`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

from segml.config import ExportConfig, TieringConfig
from segml.data import schema as s
from segml.models.scorers import importance
from segml.reporting.call_list import recurring
from segml.reporting.contract_tenure import contract_tenure
from segml.reporting.forecast_view import workbook_blocks
from segml.reporting.privacy import pseudonymize
from segml.reporting.report import ReportInputs, render
from segml.reporting.subscriber_text import subscriber_headers
from segml.reporting.table import export_table
from segml.reporting.text import TEXT
from segml.reporting.workbook import workbook
from segml.reporting.workbook_sheets import LIFECYCLE_ORDER, breakdown
from segml.tiering.reasons import feature_labels

# the snapshot's columns the report's frequency x recency matrices read
MATRIX_COLUMNS = ["frequency", "recency_days", "bgnbd_p_alive", "bgnbd_expected_purchases"]
# the train stage's plot tables the report charts (the backtest table is optional)
PLOTS = ("calibration", "deciles", "lift")


def metrics_table(metrics: dict) -> pd.DataFrame:
    """Backtest means per model and baseline (one row per scorer), with the grade and which scorer
    production uses; a model the data could not train is one row with why (`note_en`/`note_zh`)."""
    rows = []
    for target, scores in metrics.items():
        summary, production = scores.get("summary", {}), scores.get("production", {})
        if summary.get("finding") == "not trained":  # no backtest: one row says why
            rows.append(
                {
                    "target": target,
                    "scorer": production.get("scorer"),
                    "grade": summary.get("grade"),
                    "in_production": True,
                    "note_en": summary.get("verdict_en"),
                    "note_zh": summary.get("verdict_zh"),
                }
            )
        for scorer in scores.get("spread", {}):
            row = {"target": target, "scorer": scorer}
            row.update(
                {
                    k: v
                    for k, v in scores[scorer].items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                }
            )
            if scorer == "model":
                row["grade"] = summary.get("grade")
                row["beats_baseline"] = summary.get("beats_baseline")
            row["in_production"] = scorer == production.get("scorer")
            rows.append(row)
    return pd.DataFrame(rows)


def report_inputs(
    tiering: TieringConfig,
    tiers,
    model_metrics: dict,
    models: dict,
    snapshot: pd.DataFrame,
    profile: pd.DataFrame,
    plots: dict[str, pd.DataFrame],
    quality: dict,
    horizon_days: int,
    window: dict | None = None,
    audit: dict | None = None,
    model_set: dict | None = None,
) -> ReportInputs:
    """Everything the workbook and report show, from the stages' results (`tiers`: a TierResult;
    `snapshot`: at least its `MATRIX_COLUMNS`; `horizon_days`: the churn window the features
    stage built with; `window`: the churn window study, if run; `audit`:
    metrics/audit_details.json; `model_set`: the registered set `segml score` used)."""
    drivers = importance({name: models[name] for name in ("churn", "upside")})
    return ReportInputs(
        table=tiers.table,
        summary=tiers.summary,
        movement=tiers.movement,
        metrics=metrics_table(model_metrics),
        grades={k: {**v["summary"], **v["production"]} for k, v in model_metrics.items()},
        profile=profile,
        plots={p: plots[p] for p in PLOTS},
        backtest=plots.get("backtest"),
        importance=drivers,
        quality=quality,
        as_of=str(tiers.table["as_of"].iloc[0]),
        primary=tiering.primary,
        features=snapshot[[c for c in MATRIX_COLUMNS if c in snapshot]],
        feature_labels=feature_labels(  # the models' features, and attributes profiled
            [*drivers["feature"].unique(), *_profiled(profile)], tiering.reasons.get("names", [])
        ),
        forecast=model_metrics.get("upside", {}).get("forecast"),
        next_purchase=model_metrics.get("churn", {}).get("next_purchase"),
        horizon_days=horizon_days,
        window=window,
        audit=audit,
        model_set=model_set,
    )


def _profiled(profile: pd.DataFrame | None) -> list[str]:
    """The customer attributes the segment profile shows (`mean_attr_…`, `share_attr_…`)."""
    columns = [] if profile is None else list(profile.columns)
    return [c.partition("_")[2] for c in columns if c.startswith(("mean_attr_", "share_attr_"))]


def export_stage(
    inputs: ReportInputs,
    tiering: TieringConfig,
    export_cfg: ExportConfig,
    salt: str | None,
    parts: dict[str, ReportInputs] | None = None,
) -> Exports:
    """The export stage with the project's config: `build_exports` with the tiering vocabulary
    (`parts`: each part's inputs, `data.kind: both`)."""
    levels = list(tiering.value_potential["levels"])
    return build_exports(inputs, tiering.actions, levels, export_cfg, salt, tiering.teams, parts)


@dataclass(frozen=True)
class Exports:
    table: pd.DataFrame  # for parquet and CSV
    workbook: bytes | None
    report: str | None


def _breakdowns(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Group summaries from the full table (aggregates carry no personal data); subscribers get
    the contract x tenure churn table where purchases get RFM segments."""
    lifecycle = breakdown(table, "lifecycle_status", LIFECYCLE_ORDER)
    if recurring(table):
        return {"lifecycle": lifecycle, "contract_tenure": contract_tenure(table)}
    return {"lifecycle": lifecycle, "rfm": breakdown(table, "rfm_segment")}


def build_exports(
    inputs: ReportInputs,
    actions: dict,
    levels: list[str],
    cfg: ExportConfig,
    salt: str | None,
    teams: dict | None = None,
    parts: dict[str, ReportInputs] | None = None,
) -> Exports:
    """The export stage: the shareable table, the workbook and the report (subscribers': in their
    own words, `subscriber_headers`; `parts`: each part's model quality apart, `data.kind: both`)."""
    cfg = subscriber_headers(cfg) if recurring(inputs.table) else cfg
    table = export_table(inputs.table, cfg, salt)
    movement = dict(inputs.movement)
    if movement.get("available") and cfg.pseudonymize_ids:
        for key in ("upgrades", "downgrades", "new", "gone"):
            if key not in movement:
                continue
            movement[key] = movement[key].assign(
                **{s.CUSTOMER_ID: pseudonymize(movement[key][s.CUSTOMER_ID], salt)}
            )
    book = None
    if "xlsx" in cfg.formats:
        book = workbook(
            table,
            inputs.summary,
            movement,
            inputs.metrics,
            actions,
            cfg,
            _breakdowns(inputs.table),
            teams,
            inputs.audit,
            _models_note(inputs),
            workbook_blocks(
                table,
                inputs.forecast,
                inputs.next_purchase,
                cfg.language,
                {n: (p.forecast, p.next_purchase) for n, p in parts.items()} if parts else None,
            ),
            part_metrics={n: p.metrics for n, p in parts.items()} if parts else None,
        )
    report = None
    if cfg.report:
        # the report shows customers too (top at risk, movers): the same pseudonyms as the table
        shown = (
            inputs.table.assign(**{s.CUSTOMER_ID: pseudonymize(inputs.table[s.CUSTOMER_ID], salt)})
            if cfg.pseudonymize_ids
            else inputs.table
        )
        report = render(_replace(inputs, table=shown, movement=movement), levels, cfg, parts)
    return Exports(table, book, report)


def _models_note(inputs: ReportInputs) -> dict[str, str]:
    """The models that scored, in both languages (the workbook's summary names them)."""
    if inputs.model_set:
        return {k: inputs.model_set[k] for k in ("en", "zh")}
    return {
        language: TEXT["models_this_run"][language].format(as_of=inputs.as_of)
        for language in ("en", "zh")
    }


def _replace(inputs: ReportInputs, **changes) -> ReportInputs:
    return dataclasses.replace(inputs, **changes)
