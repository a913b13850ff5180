"""Features against hand-computed tables, and proof that no feature looks past its cutoff."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.features import build_features, fit_vocabulary, index_transactions, to_day
from segml.labels import label_window

from conftest import tx_frame

CUTOFF = "2024-03-31"


@pytest.fixture()
def fcfg(cfg):
    # BG/NBD needs many customers; it is tested on its own in test_bgnbd.py
    return dataclasses.replace(cfg.features, use_bgnbd=False, use_attributes=False, windows_days=[30, 90])


@pytest.fixture()
def tx():
    return tx_frame([
        # one-time buyer
        ("A", "2024-03-01 10:00", 100.0),
        # refunds: 200 bought, 50 refunded later, then another purchase
        ("B", "2024-01-01 09:00", 200.0, "toys"),
        ("B", "2024-01-10 09:00", -50.0, "toys", "app", "O0001"),
        ("B", "2024-02-01 09:00", 100.0),
        # several orders on one day (one purchase day, three orders), then two more days
        ("C", "2024-03-10 08:00", 10.0),
        ("C", "2024-03-10 12:00", 20.0, "toys"),
        ("C", "2024-03-10 18:00", 30.0, "food", "shop"),
        ("C", "2024-03-20 09:00", 40.0),
        ("C", "2024-03-30 09:00", 50.0),
        # only purchase is after the cutoff: no features at this cutoff
        ("D", "2024-04-05 09:00", 70.0),
    ])


def features_at(tx, fcfg, cutoff=CUTOFF):
    # as in the pipeline, category levels are learnt from data up to the cutoff only
    seen = tx[tx["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    vocab = fit_vocabulary(seen, pd.DataFrame({"customer_id": []}), fcfg)
    idx = index_transactions(tx, vocab)
    return build_features(idx, to_day(cutoff), fcfg, vocab).set_index("customer_id")


def test_rfm_by_hand(tx, fcfg):
    f = features_at(tx, fcfg)
    assert sorted(f.index) == ["A", "B", "C"]  # D has bought only after the cutoff
    expected = pd.DataFrame(
        {
            # cutoff 2024-03-31: A last bought 03-01 (30 days); B 02-01 (59); C 03-30 (1)
            "recency_days": [30.0, 59.0, 1.0],
            "frequency": [1.0, 2.0, 3.0],  # distinct purchase days
            "n_orders": [1.0, 2.0, 5.0],
            "monetary_total": [100.0, 250.0, 150.0],  # net of refunds
            "gross_spend": [100.0, 300.0, 150.0],
            "avg_order_value": [100.0, 150.0, 30.0],
            "tenure_days": [30.0, 90.0, 21.0],
            "refund_rate": [0.0, 50 / 300, 0.0],
        },
        index=pd.Index(["A", "B", "C"], name="customer_id"),
    )
    pd.testing.assert_frame_equal(f[expected.columns], expected, check_dtype=False)


def test_gaps_and_single_purchase(tx, fcfg):
    f = features_at(tx, fcfg)
    # C bought on 03-10, 03-20, 03-30: gaps 10 and 10
    assert f.loc["C", "gap_mean_days"] == 10.0
    assert f.loc["C", "gap_std_days"] == 0.0
    assert f.loc["C", "recency_gap_ratio"] == pytest.approx(0.1)
    # B: one gap of 31 days; recency 59 -> ratio 59/31
    assert f.loc["B", "gap_mean_days"] == 31.0
    assert f.loc["B", "recency_gap_ratio"] == pytest.approx(59 / 31)
    # one-time buyer: finite, documented values instead of NaN
    assert f.loc["A", "gap_mean_days"] == 30.0  # its tenure
    assert f.loc["A", "gap_std_days"] == 0.0
    assert f.loc["A", "recency_gap_ratio"] == 1.0
    assert not f.select_dtypes("number").isna().any().any()


def test_windows_shares_and_trend(tx, fcfg):
    f = features_at(tx, fcfg)
    # 30-day window is (03-01, 03-31]: A's 03-01 purchase is outside, C's five orders inside
    assert f.loc["A", "spend_30d"] == 0.0
    assert f.loc["C", "spend_30d"] == 150.0
    assert f.loc["C", "purchase_days_30d"] == 3.0
    # 90-day window (2024-01-01, 03-31]: B's 01-01 purchase is just outside; the refund is inside
    assert f.loc["B", "spend_90d"] == 50.0
    assert f.loc["B", "spend_trend_90d"] == pytest.approx((50 - 200) / 250)
    # category shares of gross spend; C spent 20 of 150 on toys
    assert f.loc["C", "category_share__toys"] == pytest.approx(20 / 150)
    assert f.loc["C", "channel_share__shop"] == pytest.approx(30 / 150)
    assert f.loc["C", "n_categories"] == 2.0


def test_labels_after_cutoff(tx, fcfg):
    idx = index_transactions(tx, fit_vocabulary(tx, pd.DataFrame({"customer_id": []}), fcfg))
    labels = label_window(idx, to_day(CUTOFF), 30).set_index("customer_id")
    assert labels.loc["D", "churned"] == 0 and labels.loc["D", "future_value"] == 70.0
    assert labels.loc["A", "churned"] == 1 and labels.loc["A", "future_value"] == 0.0


def test_no_time_travel(tx, fcfg):
    """Adding any transactions after the cutoff changes no feature of any customer."""
    before = features_at(tx, fcfg)
    rng = np.random.default_rng(0)
    future = tx_frame([
        (cid, str(pd.Timestamp(CUTOFF) + pd.Timedelta(days=int(d), hours=1)), float(a), "toys", "shop")
        for cid, d, a in zip(rng.choice(["A", "B", "C", "E"], 40), rng.integers(0, 400, 40), rng.normal(50, 80, 40))
    ])
    future["order_id"] = "F" + future["order_id"]
    after = features_at(pd.concat([tx, future], ignore_index=True), fcfg)
    pd.testing.assert_frame_equal(before, after)


def test_no_time_travel_with_bgnbd_and_vocabulary_on_demo_data(cfg):
    """Same proof on generated data with every feature family switched on."""
    from segml.generate import generate

    demo = generate(400, seed=3, messy=False)
    tx = demo.transactions.astype({"customer_id": "str", "order_id": "str", "category": "str", "channel": "str"})
    tx["quantity"] = tx["quantity"].astype(float)
    customers = demo.customers.astype("str")
    cutoff = "2024-12-31"
    early = tx[tx["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    vocab = fit_vocabulary(early, customers, cfg.features)

    def build(frame):
        return build_features(index_transactions(frame, vocab, customers), to_day(cutoff), cfg.features, vocab)

    pd.testing.assert_frame_equal(build(tx), build(early))
