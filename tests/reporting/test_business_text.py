"""Business-facing text on generated data: every model feature has a plain phrase, no reason
shows a raw feature name or a long float, and persona, RFM segment and lifecycle never
contradict each other."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from segml.app.pipeline import run_pipeline
from segml.data.generate import generate
from segml.features.build import feature_columns
from segml.tiering.reasons import Phrasebook, ReasonBook
from tests.conftest import ROOT
from tests.plain_text import CHINESE, LONG_FLOAT, NAN, SNAKE_CASE

# not a unit test: every stage runs in memory to read what it writes (make test runs it)
pytestmark = pytest.mark.slow

RAW_NAME = re.compile(r"[a-z]+_[a-z_]+ =")
# Feature names the lead is adding in parallel: they must have phrases before they land.


@pytest.fixture(scope="module")
def result(cfg):
    demo = generate(1500, seed=21)
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    return run_pipeline(
        demo.transactions.astype(str),
        demo.customers.astype("string"),
        dataclasses.replace(cfg, data=identity),
    )


def test_every_model_feature_has_a_behaviour_group_and_a_name(cfg, result):
    features = feature_columns(result.datasets.snapshot)
    groups = ReasonBook(cfg.tiering.reasons, cfg.tiering.value_window_days)
    missing = [f for f in features if groups.group_of(f) < 0]
    assert not missing, f"tiering.reasons.groups has no group for {missing}"
    names = Phrasebook(cfg.tiering.reasons["names"])
    missing = [f for f in features if not names.covers(f)]
    assert not missing, f"tiering.reasons.names has no entry for {missing}"


# what a model thinks, never what the customer did
MODEL_OUTPUT = re.compile(r"chance|expected|likely|probab|predict|pattern|model", re.IGNORECASE)
MODEL_OUTPUT_ZH = re.compile(r"概率|预计|预测|购买规律|模型")


def _headed(text: str, head: str) -> str:
    """The part of a reason text under one direction, e.g. "raises value: "."""
    return " · ".join(p for p in text.split(" · ") if p.startswith(head))


def test_reasons_say_what_the_customer_did(cfg, result):
    """The issue's targets: every at-risk customer has reasons, no reason restates a model
    output, the at-risk customers with the most value at stake are told how long since their
    last purchase, and nothing that raises value says the customer stopped buying."""
    table = result.tiers.table
    table = table[table["tier"].notna()]
    at_risk = table[table["lifecycle_status"] == "at_risk"]
    assert len(at_risk) > 100
    for language in ("en", "zh"):
        reasons = at_risk[f"churn_reasons_{language}"]
        assert (reasons.str.len() > 0).all()
        assert not reasons.eq(cfg.tiering.reasons["not_computed"][language]).any()
    for column in ("churn_reasons_en", "value_reasons_en"):
        assert not table[column].str.contains(MODEL_OUTPUT).any(), column
    for column in ("churn_reasons_zh", "value_reasons_zh"):
        assert not table[column].str.contains(MODEL_OUTPUT_ZH).any(), column
    top = at_risk.sort_values(["value_at_stake", "customer_id"], ascending=[False, True]).head(100)
    since = top["churn_reasons_en"].str.contains(
        r"no purchase for [\d,]+ days|[\d,]+ days since the last|last purchase [\d,]+ days? ago"
        r"|purchase(?: only| so far)?, [\d,]+ days? ago|bought today"
    )
    assert since.mean() >= 0.8, top.loc[~since, "churn_reasons_en"].head().tolist()
    stopped = r"no purchase|no net spend|none since"
    raises_value = table["value_reasons_en"].map(lambda t: _headed(t, "raises value: "))
    assert not raises_value.str.contains(stopped).any()
    lowers_risk = table["churn_reasons_en"].map(lambda t: _headed(t, "lowers risk: "))
    assert not lowers_risk.str.contains(stopped).any()
    raises_risk = table["churn_reasons_en"].map(lambda t: _headed(t, "raises risk: "))
    assert not raises_risk.str.contains(r"within their usual gap|due for the next").any()


def test_reasons_have_no_raw_names_or_long_floats(result):
    everyone = result.tiers.table
    table = everyone[
        everyone["tier"].notna()
    ]  # customers with no usable purchase have a status instead
    assert everyone.loc[everyone["tier"].isna(), "lifecycle_en"].str.len().gt(0).all()
    for column in ("churn_reasons_en", "churn_reasons_zh", "value_reasons_en", "value_reasons_zh"):
        text = table[column]
        assert not text.str.contains(RAW_NAME).any(), (
            text[text.str.contains(RAW_NAME)].head().tolist()
        )
        assert not text.str.contains(LONG_FLOAT).any(), (
            text[text.str.contains(LONG_FLOAT)].head().tolist()
        )
        assert not text.str.contains(NAN).any()
        if column.endswith("_en"):  # the demo's categories, channels and attributes in words
            assert not text.str.contains(CHINESE).any(), text[text.str.contains(CHINESE)].head()
    # nearly everyone has a reason that reads right
    assert table["value_reasons_en"].str.len().gt(0).mean() > 0.95


def test_labels_never_contradict_the_lifecycle(cfg, result):
    table = result.tiers.table
    table = table[table["tier"].notna()]  # customers with no usable purchase have no persona or RFM
    first_purchase_recent = table["tenure_days"] <= cfg.tiering.lifecycle["new_within_days"]
    assert first_purchase_recent.any()
    for column in ("rfm_segment", "persona"):
        assert not table.loc[first_purchase_recent, column].isin(["lost", "hibernating"]).any(), (
            column
        )
    lost = table["lifecycle_status"] == "lost"
    assert lost.any()
    assert not table.loc[lost, "persona"].isin(["champions", "loyal", "new", "promising"]).any()
    assert not table.loc[lost, "rfm_segment"].isin(["champions", "loyal", "new", "promising"]).any()
    # a persona or RFM segment named "new" is only given to customers whose first purchase is recent
    for column in ("rfm_segment", "persona"):
        assert (table.loc[table[column] == "new", "lifecycle_status"] == "new").all(), column
    # every customer a status allows keeps it: the persona key and its names agree
    names = {key: p["en"] for key, p in cfg.segment.personas.items()}
    assert (table["persona"].map(names) == table["persona_en"]).all()
    assert set(table["rfm_code"].str.len()) == {3}
    assert pd.api.types.is_integer_dtype(table["rfm_r"])


# ---------------------------------------------------------------- every business-facing output


def _inputs(cfg, result):
    from segml.models.scorers import importance
    from segml.models.segment import profile
    from segml.reporting.exports import metrics_table
    from segml.reporting.report import ReportInputs
    from segml.tiering.reasons import feature_labels

    tiers, trained, snapshot = result.tiers, result.trained, result.datasets.snapshot
    clusters = tiers.table[["customer_id", "segment", "persona", "persona_en", "persona_zh"]]
    movement, audit = _last_period(cfg, tiers.table)
    return ReportInputs(
        table=tiers.table,
        summary=tiers.summary,
        movement=movement,
        audit=audit,
        metrics=metrics_table(trained.metrics),
        grades={k: v["summary"] for k, v in trained.metrics.items()},
        profile=profile(snapshot, clusters, list(cfg.segment.features)),
        plots=trained.plots,
        importance=importance({"churn": trained.churn, "upside": trained.upside}),
        quality=result.prepared.quality,
        as_of=str(tiers.table["as_of"].iloc[0]),
        primary=cfg.tiering.primary,
        features=snapshot,
        feature_labels=feature_labels(snapshot.columns, cfg.tiering.reasons["names"]),
    )


def _last_period(cfg, table: pd.DataFrame) -> tuple[dict, dict]:
    """Movement and an audit against a made-up last period: a third of the customers one tier
    apart, values and scores shifted, some customers bought again since."""
    import numpy as np

    from segml.tiering import audit as a
    from segml.tiering import policies as t
    from segml.tiering.periods import Period

    rng = np.random.default_rng(5)
    graded = table[table["tier"].notna()]
    shift = {"A": "B", "B": rng.choice(["A", "C"]), "C": "B"}
    previous = table.assign(
        tier=[shift[x] if x == x and rng.random() < 0.3 else x for x in table["tier"]],
        current_value=table["current_value"] * rng.uniform(0.5, 1.5, len(table)),
        churn_probability=table["churn_probability"].clip(0, 1),
    )
    previous = previous.iloc[: len(previous) - 7]  # some are new now
    move = t.movement(graded, previous, "tier", ["A", "B", "C"])
    move["compared_with"] = "2025-11-30"
    bought = graded.sample(frac=0.5, random_state=1)
    realized = pd.DataFrame(
        {
            "customer_id": bought["customer_id"],
            "repurchased": True,
            "revenue": rng.gamma(2, 300, len(bought)),
        }
    )
    period = Period("0123abcd", "2025-09-30", horizon_days=90, policy="abc")
    audited = a.audit_period(
        previous,
        realized,
        period,
        "2025-12-31",
        90,
        365,
        ["A", "B", "C"],
        cfg.audit.probability_bands,
    )
    steps = [
        {"from": "2025-11-30", "to": "2025-12-31"}
        | a.stability(previous, graded, "tier", ["A", "B", "C"], cfg.audit.psi_columns, 10, 0.25)
    ]
    return move, {"periods": [audited], "stability": steps, "psi_warning": 0.25}


@pytest.fixture(scope="module")
def exports(cfg, result):
    from segml.reporting.exports import build_exports

    return build_exports(
        _inputs(cfg, result),
        cfg.tiering.actions,
        ["low", "mid", "high"],
        cfg.export,
        None,
        cfg.tiering.teams,
    )


def _bad_text(text: str) -> list[str]:
    return RAW_NAME.findall(text) + LONG_FLOAT.findall(text)


def test_no_raw_names_or_long_floats_in_table_workbook_or_report(exports):
    import io

    import openpyxl

    table = exports.table
    for column in table.select_dtypes(include="object").columns:
        bad = [v for v in table[column].dropna().astype(str) if _bad_text(v)]
        assert not bad, (column, bad[:3])
    book = openpyxl.load_workbook(io.BytesIO(exports.workbook))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str):
                    assert not _bad_text(value), (sheet.title, cell.coordinate, value)
                elif isinstance(
                    value, float
                ):  # what a spreadsheet shows when the format is widened
                    assert abs(value * 1000 - round(value * 1000)) < 1e-6, (
                        sheet.title,
                        cell.coordinate,
                        value,
                    )
    text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", exports.report, flags=re.S)
    assert not _bad_text(text), _bad_text(text)[:5]
    # movement and the audit are there, in plain words: no markup shown as text
    assert "Largest moves by change in value" in text and "Did last period" in text
    assert "&lt;br&gt;" not in exports.report and "<br>" not in str(exports.table.to_numpy())
    from segml.reporting.workbook import SHEETS

    audit, movement = (book.worksheets[SHEETS.index(k)] for k in ("audit", "movement"))
    assert audit.max_row > 10 and movement.max_row > 10
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)[:5]


def test_workbook_opens_on_the_call_list_and_shows_no_codes_or_true_false(cfg, exports):
    """The issue's target: the first sheet is the call list (every at-risk customer, up to the
    cap, the most value at stake first); no snake_case code and no TRUE/FALSE in any cell."""
    import io

    import openpyxl

    from segml.reporting.sheet_view import sheet_name

    book = openpyxl.load_workbook(io.BytesIO(exports.workbook))
    assert book.sheetnames[0] == sheet_name("call_list", cfg.export)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                where = (sheet.title, cell.coordinate, value)
                assert not isinstance(value, bool) and cell.data_type != "b", where
                if isinstance(value, str):
                    assert value.upper() not in ("TRUE", "FALSE"), where
                    assert not SNAKE_CASE.search(value), where
    at_risk = exports.table[exports.table["lifecycle_status"] == "at_risk"]
    listed = list(book.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert len(listed) == min(len(at_risk), cfg.export.call_list_customers) > 0
    stake = at_risk.sort_values(["value_at_stake", "customer_id"], ascending=[False, True])
    assert [row[1] for row in listed] == stake["customer_id"].head(len(listed)).tolist()


@pytest.mark.slow  # a real browser process
def test_report_opens_in_headless_chromium_offline(exports, tmp_path):
    import os
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    from chromium import find_chromium, open_page

    if not find_chromium():
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is missing in CI: .ci/run installs it (apt-get install -y chromium)"
            )
        pytest.skip("chromium not installed (apt-get install -y chromium)")
    path = tmp_path / "report.html"
    path.write_text(exports.report, encoding="utf-8")
    page = open_page(path)
    assert page.errors == [], page.errors
    assert page.too_wide == [], page.too_wide  # every table fits its section at 1400 px
    assert page.external_requests == [], page.external_requests
    assert page.charts >= 8  # every chart drew
    assert "客户分级报告" in page.text and "Customer tiers" in page.text
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", page.text), re.findall(
        r"\b[a-z]+_[a-z_]+\b", page.text
    )[:5]
    assert "NaN" not in page.text and not re.search(r"\d\.\d{4,}", page.text)
