"""A company with both exports (`data.kind: both`) through every stage: `segml generate --shape
both` on a few thousand customers, then `segml demo --shape both` in its own temporary project
(real DVC, real MLflow; built once per session by tests/e2e/project.py's machinery). One tier
table covers every customer once: subscribers graded by the subscription models (churn = cancels
subscription), the other buyers by the purchase models (churn = stops buying), in plain words in
the table, the workbook and the report."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from tests.e2e.project import NO_PREVIOUS, DemoSpec, copy_built
from tests.plain_text import CHINESE, SNAKE_CASE

BOTH = DemoSpec(
    "both",
    ("--shape", "both", "--customers", "2500", "--seed", "7"),
    ("--shape", "both", NO_PREVIOUS),
    command="demo",
)
REASONS = ["churn_reasons_en", "churn_reasons_zh", "value_reasons_en", "value_reasons_zh"]


@pytest.fixture(scope="module")
def both(built_project, tmp_path_factory):
    return copy_built(built_project(BOTH), tmp_path_factory.mktemp("both"))


@pytest.mark.slow
def test_one_tier_table_holds_every_customer_once_with_both_churn_kinds(both):
    table = pd.read_parquet(both / "exports" / "tiers.parquet")
    assert table["customer_id"].is_unique
    # clear ids here (the main demo pseudonymises): the CSV keeps them as text, leading zeros too
    csv = pd.read_csv(both / "exports" / "tiers.csv", encoding="utf-8-sig", dtype=str)
    assert csv["customer_id"].tolist() == table["customer_id"].tolist()
    assert table["customer_id"].str.fullmatch(r"0\d{6}").any()
    subscribers = set(
        pd.read_parquet(both / "data" / "features" / "subscriptions" / "snapshot.parquet")[
            "customer_id"
        ]
    )
    buyers = set(
        pd.read_parquet(both / "data" / "features" / "transactions" / "snapshot.parquet")[
            "customer_id"
        ]
    )
    assert subscribers and buyers and not subscribers & buyers
    kinds = table.set_index("customer_id")["churn_kind"]
    assert (kinds[sorted(subscribers)] == "cancels_subscription").all()
    assert (kinds[sorted(buyers)] == "stops_buying").all()
    # everyone else is listed apart with a status and no tier (never bought, cancelled, ...)
    apart = table[table["churn_kind"].isna()]
    assert len(apart) and apart["tier"].isna().all() and apart["lifecycle_en"].notna().all()
    assert len(table) == len(subscribers) + len(buyers) + len(apart)
    words = (
        table.dropna(subset=["churn_kind"])
        .groupby("churn_kind")[["churn_kind_en", "churn_kind_zh"]]
        .first()
    )
    assert words.to_dict("index") == {
        "cancels_subscription": {"churn_kind_en": "cancels subscription", "churn_kind_zh": "退订"},
        "stops_buying": {"churn_kind_en": "stops buying", "churn_kind_zh": "停止购买"},
    }
    # one set of value tiers over both parts: each part has customers in the top tier
    assert set(table.loc[table["tier"] == "A", "churn_kind"]) == {
        "cancels_subscription",
        "stops_buying",
    }
    # subscribers' statuses and buyers' statuses, each in its part
    statuses = table.groupby("churn_kind")["lifecycle_status"].agg(set)
    assert "lost" not in statuses["cancels_subscription"]
    assert "past_due" not in statuses["stops_buying"]


@pytest.mark.slow
def test_subscribers_carry_their_purchases_and_their_value_counts_them(both):
    snapshot = pd.read_parquet(both / "data" / "features" / "subscriptions" / "snapshot.parquet")
    assert {"purchase_spend_90d", "purchase_spend_365d", "purchase_recency_days"} <= set(snapshot)
    bought = snapshot[snapshot["purchase_spend_365d"] > 0]
    assert 0 < len(bought) < len(snapshot)  # some subscribers buy, most do not
    table = pd.read_parquet(both / "exports" / "tiers.parquet").set_index("customer_id")
    rows = snapshot.set_index("customer_id").loc[bought["customer_id"]]
    expected = rows["revenue_365d"] + rows["purchase_spend_365d"]
    assert table.loc[rows.index, "current_value"].to_numpy() == pytest.approx(expected.to_numpy())


@pytest.mark.slow
def test_each_part_has_its_models_beside_its_own_baselines(both):
    for part, baseline in (("subscriptions", "survival"), ("transactions", "bgnbd")):
        churn = json.loads((both / "metrics" / part / "churn_details.json").read_text())
        assert churn["summary"]["grade"] in "ABCD"
        assert any(baseline in name for name in churn["spread"]), churn["spread"].keys()
    headline = json.loads((both / "metrics" / "churn.json").read_text())
    assert set(headline) == {"churn_subscriptions", "churn_transactions"}


@pytest.mark.slow
def test_report_and_workbook_render_with_each_parts_model_quality(both):
    report = (both / "exports" / "report.html").read_text(encoding="utf-8")
    assert "Subscribers (churn: cancels subscription)" in report
    assert "Buyers (churn: stops buying)" in report
    book = openpyxl.load_workbook(both / "exports" / "tiers.xlsx", read_only=True)
    summary = book[book.sheetnames[1]]
    titles = [r[0] for r in summary.iter_rows(values_only=True) if r and isinstance(r[0], str)]
    assert any("订阅客户" in t for t in titles) and any("购买客户" in t for t in titles)
    customers = book[book.sheetnames[2]]
    header = next(customers.iter_rows(values_only=True))
    assert any(h and "流失含义" in h for h in header)
    table = pd.read_parquet(both / "exports" / "tiers.parquet")
    # subscribers' purchases are reasons in words too (never "Other feature" or a raw name)
    subscribers = table[table["churn_kind"] == "cancels_subscription"]
    assert (
        subscribers["value_reasons_en"]
        .fillna("")
        .str.contains("besides the subscription|also buys")
        .any()
    )
    assert "其他特征" not in report
    for column in REASONS:
        text = table[column].dropna().astype(str)
        assert not text.str.contains(SNAKE_CASE).any(), text[text.str.contains(SNAKE_CASE)].head()
        if column.endswith("_en"):  # both exports' values in words
            assert not text.str.contains(CHINESE).any(), text[text.str.contains(CHINESE)].head()


@pytest.mark.slow
def test_each_parts_set_is_promoted_by_its_own_challenge(both):
    """The first run has no champion for either part: each part's set becomes its champion, and
    the run says so per part (never one decision for both, never "not built")."""
    run = json.loads((both / "exports" / "mlflow_run.json").read_text())
    decided = run["promotion"]
    for part in ("subscriptions", "transactions"):
        for model in ("churn", "upside", "segmenter"):
            assert decided[f"{part}_{model}"].startswith(f"promoted v1 with the {part} set"), (
                decided
            )
    first = (both.parent / "first_run" / "output.txt").read_text(encoding="utf-8")
    assert "subscriptions churn: promoted v1" in first and "transactions churn: promoted" in first
