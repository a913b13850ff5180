"""Features against hand-computed tables, and proof that no feature looks past its cutoff."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from segml.features.build import Cutoff, Vocabulary, build_features, feature_columns, fit_vocabulary
from segml.features.transactions import index_transactions, to_day
from tests.conftest import tx_frame

CUTOFF = "2024-03-31"


@pytest.fixture()
def fcfg(cfg):
    # BG/NBD needs many customers; it is tested on its own in test_bgnbd.py
    return dataclasses.replace(
        cfg.features, use_bgnbd=False, use_attributes=False, windows_days=[30, 90]
    )


@pytest.fixture()
def tx():
    return tx_frame(
        [
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
        ]
    )


def features_at(tx, fcfg, cutoff=CUTOFF):
    # as in the pipeline, category levels are learnt from data up to the cutoff only
    seen = tx[tx["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    vocab = fit_vocabulary(index_transactions(seen), fcfg)
    idx = index_transactions(tx)
    return build_features(idx, [to_day(cutoff)], fcfg, vocab).set_index("customer_id")


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


def test_active_within_keeps_only_recent_buyers(tx, fcfg):
    idx = index_transactions(tx)
    # recency at 03-31: A 30 days, B 59, C 1; D has not bought yet
    f = build_features(
        idx, [Cutoff(to_day(CUTOFF), active_within_days=30), to_day(CUTOFF)], fcfg, Vocabulary()
    )
    assert f["customer_id"].tolist() == [
        "A",
        "C",
        "A",
        "B",
        "C",
    ]  # stacked in the order the cutoffs were given


def test_money_sums_are_exact(fcfg):
    """0.1 + 0.2 - 0.3 is not 0 in floating point; a refunded basket must still net to exactly 0."""
    tx = tx_frame(
        [
            ("A", "2023-12-01", 20.0),
            ("A", "2024-03-05", 0.1),
            ("A", "2024-03-10", 0.2),
            ("A", "2024-03-15", -0.3),
        ]
    )
    f = features_at(tx, fcfg)
    assert f.loc["A", "spend_30d"] == 0.0
    # nothing in either 30-day window, so no trend (dust would make it +1 or -1)
    assert f.loc["A", "spend_trend_30d"] == 0.0
    assert f.loc["A", "monetary_total"] == 20.0


def test_labels_after_cutoff(tx, fcfg):
    idx = index_transactions(tx)
    # labels from (03-01, 03-31]: A's 03-01 purchase is on the cutoff itself, so not in its window
    labels = build_features(
        idx, [to_day("2024-03-01")], fcfg, Vocabulary(), with_labels=True, horizon_days=30
    )
    labels = labels.set_index("customer_id")[["churned", "future_value"]]
    assert sorted(labels.index) == ["A", "B"]  # C and D had not bought yet
    assert labels.loc["A", "churned"] == 1 and labels.loc["A", "future_value"] == 0.0
    assert labels.loc["B", "churned"] == 1 and labels.loc["B", "future_value"] == 0.0
    # (03-31, 04-30]: only D buys (70 on 04-05), and D is no row, having not bought by the cutoff
    later = build_features(
        idx, [to_day(CUTOFF)], fcfg, Vocabulary(), with_labels=True, horizon_days=30
    )
    assert later.set_index("customer_id")["churned"].to_dict() == {"A": 1, "B": 1, "C": 1}


def test_labels_count_refunds_and_line_up_with_features(fcfg):
    tx = tx_frame(
        [
            ("A", "2024-01-05", 80.0),
            ("A", "2024-02-10", 30.0),  # inside (01-31, 03-01]
            ("A", "2024-02-20", -10.0),  # a refund inside the window lowers future value
            ("A", "2024-03-02", 500.0),  # after the window
            ("B", "2024-01-20", 40.0),
            ("B", "2024-02-15", -40.0),  # only a refund in the window: churned, value -40
        ]
    )
    idx = index_transactions(tx)
    cutoffs = [to_day("2024-01-31"), to_day("2024-02-29")]
    both = build_features(idx, cutoffs, fcfg, Vocabulary(), horizon_days=30, with_labels=True)
    first = both[both["cutoff"] == "2024-01-31"].set_index("customer_id")
    second = both[both["cutoff"] == "2024-02-29"].reset_index(drop=True)
    assert first.loc["A", "churned"] == 0 and first.loc["A", "future_value"] == 20.0
    assert first.loc["B", "churned"] == 1 and first.loc["B", "future_value"] == -40.0
    assert first.loc["A", "gross_spend"] == 80.0  # features stop at the cutoff
    # (02-29, 03-30]: A's 500 on 03-02
    assert second.set_index("customer_id").loc["A", "future_value"] == 500.0
    # days to the first purchase in the window: a refund is no purchase
    assert first.loc["A", "next_purchase_days"] == 10 and np.isnan(
        first.loc["B", "next_purchase_days"]
    )
    assert second.set_index("customer_id")["next_purchase_days"].iloc[0] == 2
    assert "next_purchase_days" not in feature_columns(both)
    # each cutoff's table is what that cutoff alone would give
    alone = build_features(idx, cutoffs[1:], fcfg, Vocabulary(), horizon_days=30, with_labels=True)
    pd.testing.assert_frame_equal(second, alone)


def test_no_time_travel(tx, fcfg):
    """Adding any transactions after the cutoff changes no feature of any customer."""
    before = features_at(tx, fcfg)
    rng = np.random.default_rng(0)
    future = tx_frame(
        [
            (
                cid,
                str(pd.Timestamp(CUTOFF) + pd.Timedelta(days=int(d), hours=1)),
                float(a),
                "toys",
                "shop",
            )
            for cid, d, a in zip(
                rng.choice(["A", "B", "C", "E"], 40),
                rng.integers(0, 400, 40),
                rng.normal(50, 80, 40),
            )
        ]
    )
    future["order_id"] = "F" + future["order_id"]
    after = features_at(pd.concat([tx, future], ignore_index=True), fcfg)
    pd.testing.assert_frame_equal(before, after)


def test_no_time_travel_with_bgnbd_and_vocabulary_on_demo_data(cfg):
    """Same proof on generated data with every feature family switched on."""
    from segml.data.generate import generate

    demo = generate(400, seed=3, messy=False)
    tx = demo.transactions.astype(
        {"customer_id": "str", "order_id": "str", "category": "str", "channel": "str"}
    )
    tx["quantity"] = tx["quantity"].astype(float)
    customers = demo.customers.astype("str")
    cutoff = "2024-12-31"
    early = tx[tx["ts"] < pd.Timestamp(cutoff) + pd.Timedelta(days=1)]
    vocab = fit_vocabulary(index_transactions(early, customers), cfg.features)

    def build(frame):
        return build_features(
            index_transactions(frame, customers), [to_day(cutoff)], cfg.features, vocab
        )

    pd.testing.assert_frame_equal(build(tx), build(early))


def test_order_lines_split_by_a_refund_row_are_one_order(fcfg):
    tx = tx_frame(
        [
            ("A", "2024-03-01 10:00", 30.0, "food", "app", "X1"),
            (
                "A",
                "2024-03-01 10:05",
                -5.0,
                "food",
                "app",
                "X0",
            ),  # refund of an older order, between X1's lines
            ("A", "2024-03-01 10:10", 20.0, "toys", "app", "X1"),
            ("A", "2024-03-02 09:00", 10.0, "food", "app", "X2"),
        ]
    )
    f = features_at(tx, fcfg)
    assert f.loc["A", "n_orders"] == 2.0
    assert f.loc["A", "avg_order_value"] == 30.0  # 60 gross over two orders
    # the same rows in any order give the same features (the index sorts them)
    pd.testing.assert_frame_equal(features_at(tx.iloc[::-1].reset_index(drop=True), fcfg), f)


def test_refunds_only_give_no_rows_instead_of_an_error(fcfg):
    tx = tx_frame([("A", "2024-03-01", -10.0), ("B", "2024-03-02", -5.0)])
    f = features_at(tx, fcfg)
    assert f.empty and "recency_days" in f.columns
