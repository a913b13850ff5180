"""Each kind's realized outcomes as the audit stage reads them (`Kind.realized`, through the
catalog): purchases give "bought again" and spend, subscribers "still subscribed" and recurring
revenue, with the grace days of features.subscriptions."""

from __future__ import annotations

import pandas as pd
import pytest

from segml.data.catalog import Catalog
from segml.stages.kinds import KINDS
from tests.conftest import tx_frame
from tests.tiering.test_realized import ELAPSED, START, spells


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
