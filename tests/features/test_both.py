"""Both exports' features (`data.kind: both`), by hand on the subscriber tables of
test_subscriptions (cutoff 2024-07-20: A1, B2 and C3 running; D4 starts later; E5 ended on the
day) and a few purchases: who is in which part, the purchase features joined to subscribers' rows,
the value label with purchase spend added, and no time travel in the joined features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.features import both as fb
from segml.features import subscriptions as fs
from segml.features.build import fit_vocabulary
from segml.features.transactions import index_transactions, to_day
from tests.conftest import tx_frame
from tests.features.test_subscriptions import CUTOFF, build, subscriptions

LABEL = ["churned", "future_value", "days_to_churn", "value_365d"]


@pytest.fixture()
def fcfg(cfg):
    return dataclasses.replace(
        cfg.features, use_bgnbd=False, use_attributes=False, windows_days=[30, 90]
    )


def purchases(extra=()):
    return tx_frame(
        [
            ("A1", "2024-03-01 10:00", 100.0),  # subscriber who buys: outside the 90 days
            ("A1", "2024-06-01 10:00", 40.0),  # inside the 90 days before the cutoff
            ("A1", "2024-07-01 10:00", 60.0),
            ("A1", "2024-07-25 10:00", 30.0),  # in the label window (c, c + 90]
            ("A1", "2024-08-10 10:00", -10.0),  # a refund in it: net
            ("A1", "2024-11-01 10:00", 500.0),  # after the label window
            ("E5", "2024-07-01 10:00", 20.0),  # no longer subscribes, still buys
            ("Z9", "2024-07-02 10:00", 15.0),  # only buys
            *extra,
        ]
    )


def subscribers():
    return fs.index_subscribers(subscriptions(), None, None, None)


def joined(fcfg, tx=None, labels=True):
    tx = purchases() if tx is None else tx
    seen = tx[tx["ts"] < pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)]
    vocab = fit_vocabulary(index_transactions(seen), fcfg)
    rows = build(labels=labels, pay=_none_pay(), use=_none_use()).reset_index()
    return fb.joined_purchases(rows, index_transactions(tx), fcfg, vocab, 90).set_index(
        "customer_id"
    )


def _none_pay():
    return pd.DataFrame(
        {c: pd.Series(dtype=d) for c, d in
         {"customer_id": "str", "ts": "datetime64[ns]", "amount": float, "outcome": "str",
          "subscription_id": "str"}.items()}
    )  # fmt: skip


def _none_use():
    return pd.DataFrame(
        {c: pd.Series(dtype=d) for c, d in
         {"customer_id": "str", "ts": "datetime64[ns]", "quantity": float, "kind": "str",
          "subscription_id": "str"}.items()}
    )  # fmt: skip


def test_the_subscription_part_is_who_runs_a_subscription_at_the_cutoff():
    assert fb.running_ids(subscribers(), to_day(CUTOFF)) == {"A1", "B2", "C3"}


def test_the_purchase_part_is_every_other_buyer_at_each_cutoff():
    rows = pd.DataFrame(
        {
            "customer_id": ["A1", "E5", "Z9", "A1", "D4"],
            "cutoff": pd.to_datetime([CUTOFF] * 3 + ["2023-01-01", "2024-09-01"]),
        }
    )
    kept = fb.without_subscribers(rows, subscribers())
    # A1 subscribes at the cutoff but not before its first start; D4 runs from 2024-08-01 on
    assert list(zip(kept["customer_id"], kept["cutoff"].dt.date.astype(str))) == [
        ("E5", CUTOFF),
        ("Z9", CUTOFF),
        ("A1", "2023-01-01"),
    ]


def test_purchase_features_join_subscribers_rows_with_a_prefix(fcfg):
    frame = joined(fcfg)
    assert frame.loc["A1", "purchase_spend_90d"] == pytest.approx(100.0)  # 40 + 60
    assert frame.loc["A1", "purchase_monetary_total"] == pytest.approx(200.0)
    assert frame.loc["A1", "purchase_recency_days"] == 19  # 07-01 -> 07-20
    assert frame.loc["A1", "purchase_purchase_days_90d"] == 2
    # never bought before the cutoff: nothing spent, recency and order value unknown
    assert frame.loc["B2", "purchase_spend_90d"] == 0.0
    assert frame.loc["B2", "purchase_monetary_total"] == 0.0
    assert np.isnan(frame.loc["B2", "purchase_recency_days"])
    assert np.isnan(frame.loc["B2", "purchase_avg_order_value"])
    assert sorted(frame.index) == ["A1", "B2", "C3"]  # E5 and Z9 are not subscribers' rows


def test_a_subscribers_value_label_adds_purchase_spend_in_the_same_window(fcfg):
    recurring = build(pay=_none_pay(), use=_none_use())["future_value"]
    frame = joined(fcfg)
    assert frame.loc["A1", "future_value"] == pytest.approx(recurring["A1"] + 30.0 - 10.0)
    for who in ("B2", "C3"):
        assert frame.loc[who, "future_value"] == pytest.approx(recurring[who])
    assert (
        frame.loc["A1", "churned"] == build(pay=_none_pay(), use=_none_use()).loc["A1", "churned"]
    )


def test_no_time_travel_in_the_joined_purchase_features(fcfg):
    """Rewriting every purchase after the cutoff changes no joined feature, only the label."""
    before = joined(fcfg)
    tx = purchases()
    later = tx["ts"] > pd.Timestamp(CUTOFF) + pd.Timedelta(days=1)
    future = tx[later].assign(amount=999.0)
    rewritten = pd.concat(
        [tx[~later], future, tx_frame([("B2", "2024-08-01 10:00", 77.0)])], ignore_index=True
    )
    after = joined(fcfg, rewritten)
    features = [c for c in before.columns if c not in LABEL]
    pd.testing.assert_frame_equal(before[features], after[features])
    assert after.loc["B2", "future_value"] == pytest.approx(before.loc["B2", "future_value"] + 77)
    # and the export as it was on the cutoff day gives the same features
    then = joined(fcfg, tx[~later], labels=False)
    pd.testing.assert_frame_equal(before[features], then[features])
