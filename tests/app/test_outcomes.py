"""Each kind's realized outcomes as the audit stage reads them (`Kind.realized`, through the
catalog): purchases give "bought again" and spend, subscribers "still subscribed" and recurring
revenue, with the grace days of features.subscriptions; and the audit stage measuring a logged
subscriber period with them."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from segml.data.catalog import Catalog
from segml.reporting import run_history
from segml.stages import audit
from segml.stages.kinds import KINDS
from segml.tiering.periods import Period
from tests.conftest import tx_frame
from tests.tiering.test_realized import ELAPSED, START, spells, subscriber_base


@pytest.fixture()
def catalog(tmp_path) -> Catalog:
    files = Catalog(
        {
            "prepared_subscriptions": tmp_path / "subscriptions.parquet",
            "prepared_transactions": tmp_path / "transactions.parquet",
        }
    )
    files.write("prepared_subscriptions", spells())
    tx = tx_frame([("a", "2025-09-01", 10), ("a", "2025-10-02", 20), ("b", "2025-10-03", -5)])
    files.write("prepared_transactions", tx)
    return files


def test_subscribers_are_measured_on_their_spells_with_the_configured_grace(catalog):
    outcomes = KINDS["subscriptions"].realized
    assert outcomes.rate == "retention_rate"
    measure = outcomes.read(catalog, {"grace_days": 14, "trend_days": 90}, START)
    got = measure(START, ELAPSED).set_index("customer_id")
    assert list(got.columns) == ["running", "retained", "revenue"]
    assert got.loc["restarts", "retained"]  # back after 8 days: within the 14 grace days
    strict = outcomes.read(catalog, {"grace_days": 5}, START)(START, ELAPSED)
    assert not strict.set_index("customer_id").loc["restarts", "retained"]  # 8 days > 5
    default = outcomes.read(catalog, {}, START)(START, ELAPSED)
    pd.testing.assert_frame_equal(default, got.reset_index())


def test_purchases_are_measured_as_before(catalog):
    outcomes = KINDS["transactions"].realized
    assert outcomes.rate == "repurchase_rate"
    got = outcomes.read(catalog, {"grace_days": 14}, "2025-09-30")("2025-09-30", 90)
    assert got.to_dict("list") == {
        "customer_id": ["a", "b"],
        "repurchased": [True, False],
        "revenue": [20.0, -5.0],
    }


def test_the_audit_stage_measures_an_earlier_subscriber_period(cfg, tmp_path, monkeypatch):
    """September's subscriber grades, pinned, measured by the audit stage on 2025-11-15 through
    `Kind.realized`: still subscribed per tier, the churn ROC AUC on who really cancelled, and the
    headline DVC compares naming the retention rate. The MLflow store is stood in for by its two
    readers (what it returns is tests/reporting/test_run_history.py's subject): the store costs
    seconds to create, and this test is about the stage."""
    september = Period("0123456789abcdef", START, horizon_days=90, policy="abc")
    base = subscriber_base().assign(tier_abc=lambda f: f["tier"], current_value=1.0)
    history = run_history.History([september], {})
    monkeypatch.setattr(run_history, "period_history", lambda uri, experiment, export: history)
    monkeypatch.setattr(run_history, "period_base", lambda uri, run_id, files: base)
    sub = replace(
        cfg,
        data=replace(cfg.data, kind="subscriptions"),
        audit=replace(cfg.audit, periods_ref=f"{START}:{september.run_id[:12]}"),
    )
    catalog = Catalog({"prepared_subscriptions": tmp_path / "subscriptions.parquet"})
    catalog.write("prepared_subscriptions", spells())
    today = base[base["tier"].notna()].assign(as_of="2025-11-15")
    record = audit.audit(sub, catalog, today, "2025-11-15")
    (period,) = record["periods"]
    assert period["elapsed_days"] == ELAPSED and period["matched_share"] == 6 / 8
    assert period["retention_rate_by_tier"] == {"A": 1.0, "B": 0.5, "C": 0.0}
    assert period["churn_roc_auc"] == pytest.approx(8 / 9)
    assert "note" not in record and "outcomes_measured" not in record
    rate = KINDS["subscriptions"].realized.rate
    assert audit.headline(record, rate) == {
        "audit": {"periods": 1, "retention_rate": 0.5, "churn_roc_auc": pytest.approx(8 / 9)}
    }
    # with a stricter grace (5 days) the restart after 8 days is a cancellation too
    strict = replace(sub, features=replace(cfg.features, subscriptions={"grace_days": 5}))
    (period,) = audit.audit(strict, catalog, today, "2025-11-15")["periods"]
    assert period["retention_rate_by_tier"]["B"] == 0.0
