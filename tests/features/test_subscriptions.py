"""Hand-computed subscriber features and labels (three subscribers at one cutoff), who gets a row,
and the boundaries of 'running' (docs/design-subscriptions.md, sections 5 and 6)."""

import numpy as np
import pandas as pd
import pytest

from segml.config import FeaturesConfig
from segml.features import subscriptions as fs
from segml.features.spells import add_months
from segml.features.transactions import to_date, to_day

CUTOFF = "2024-07-20"
M = 365.25 / 12  # days per month
SUB_COLUMNS = [
    "customer_id", "subscription_id", "plan", "start", "end", "amount", "billing_months",
    "contract_months",
]  # fmt: skip


def subscriptions(extra=()):
    rows = [
        ("A1", "S1", "基础", "2024-01-10", "2024-06-10", 50.0, 1, 0),  # upgraded on 06-10
        ("A1", "S1", "标准", "2024-06-10", "2024-09-10", 80.0, 1, 0),  # leaves after the cutoff
        ("B2", "S2", "畅享", "2023-03-01", "2024-03-01", 1080.0, 12, 12),  # a year, paid yearly
        ("B2", "S2", "畅享", "2024-03-01", None, 100.0, 1, 0),  # out of contract: month-to-month
        ("B2", "S3", "宽带", "2023-05-01", "2024-06-01", 50.0, 1, 0),  # add-on given up
        ("C3", "S4", "基础", "2023-06-05", "2023-12-05", 60.0, 1, 0),  # left ...
        ("C3", "S5", "基础", "2024-05-15", None, 60.0, 1, 24),  # ... back on a two-year contract
        ("D4", "S6", "基础", "2024-08-01", None, 60.0, 1, 0),  # starts after the cutoff
        ("E5", "S7", "基础", "2024-01-01", "2024-07-20", 60.0, 1, 0),  # over on the cutoff day
        *extra,
    ]
    frame = pd.DataFrame(rows, columns=SUB_COLUMNS)
    frame["start"], frame["end"] = pd.to_datetime(frame["start"]), pd.to_datetime(frame["end"])
    return frame.assign(
        status="active", is_trial=False, mrr=frame["amount"] / frame["billing_months"]
    )


def payments():
    rows = [
        ("A1", "2024-05-10", 50.0, "paid"),
        ("A1", "2024-06-10", 80.0, "failed"),
        ("A1", "2024-06-14", 80.0, "paid"),
        ("A1", "2024-07-10", 80.0, "failed"),
        ("A1", "2024-07-14", 80.0, "failed"),
        ("A1", "2024-08-10", 80.0, "paid"),  # after the cutoff
        ("Z9", "2024-07-01", 80.0, "failed"),  # no subscription: ignored
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "amount", "outcome"])
    return frame.assign(ts=pd.to_datetime(frame["ts"]), subscription_id="S1")


def usage():
    rows = [
        ("A1", "2024-04-10", 10.0),
        ("A1", "2024-05-10", 10.0),
        ("A1", "2024-06-10", 8.0),
        ("A1", "2024-07-10", 4.0),
        ("A1", "2024-08-10", 1.0),  # after the cutoff
        ("C3", "2024-06-15", 5.0),
        ("C3", "2024-07-15", 5.0),
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "ts", "quantity"])
    return frame.assign(ts=pd.to_datetime(frame["ts"]), kind="data", subscription_id="")


def customers():
    return pd.DataFrame({"customer_id": ["A1", "B2", "C3"], "region": ["华东", "华北", None]})


def build(cutoff=CUTOFF, labels=True, subs=None, pay=None, use=None, cust=None):
    idx = fs.index_subscribers(
        subscriptions() if subs is None else subs,
        payments() if pay is None else pay,
        usage() if use is None else use,
        customers() if cust is None else cust,
    )
    cfg = FeaturesConfig()
    vocab = fs.fit_vocabulary(idx, cfg, to_day(cutoff))
    frame = fs.build_features(idx, [to_day(cutoff)], cfg, vocab, 90, labels)
    return frame.set_index("customer_id")


EXPECTED = {
    # A1: month-to-month since 2024-01-10, upgraded 50 -> 80 on 06-10, three failed payments
    "A1": {
        "tenure_days": 192, "customer_since_days": 192, "previous_cancellations": 0,
        "n_products": 1, "mrr": 80, "contract_months": 0, "is_trial": 0,
        "contract_days_left": np.nan, "months_out_of_contract": np.nan, "mrr_change_90d": 30,
        "upgrades_365d": 1, "downgrades_365d": 0,
        "revenue_90d": (49 * 50 + 41 * 80) / M, "revenue_365d": (152 * 50 + 41 * 80) / M,
        "dropped_products_180d": 0,
        "failed_payments_60d": 3, "failed_payments_180d": 3, "late_payments_180d": 0,
        "payments_180d": 5, "days_since_failed_payment": 6, "past_due": 1,
        "usage_30d__data": 4, "usage_90d__data": 22, "usage_trend_90d__data": (22 - 10) / 32,
        "usage_vs_year__data": 4 / (32 / 4), "days_since_usage": 10,
        "churned": 1, "days_to_churn": 52, "future_value": 51 * 80 / M,
        "value_365d": 51 * 80 / M,
    },
    # B2: a year's contract (1080 a year = 90 a month), then month-to-month at 100 since
    # 2024-03-01 (141 days = 4.6 months out of contract); the broadband add-on ended 2024-06-01
    "B2": {
        "tenure_days": 507, "customer_since_days": 507, "previous_cancellations": 0,
        "n_products": 1, "mrr": 100, "contract_months": 0, "is_trial": 0,
        "contract_days_left": np.nan, "months_out_of_contract": 141 / M, "mrr_change_90d": -50,
        "upgrades_365d": 0, "downgrades_365d": 0,
        "revenue_90d": (90 * 100 + 40 * 50) / M,
        "revenue_365d": (223 * 90 + 142 * 100 + 315 * 50) / M,
        "dropped_products_180d": 1,
        "failed_payments_60d": 0, "failed_payments_180d": 0, "late_payments_180d": 0,
        "payments_180d": 0, "days_since_failed_payment": np.nan, "past_due": 0,
        "usage_30d__data": 0, "usage_90d__data": 0, "usage_trend_90d__data": 0,
        "usage_vs_year__data": np.nan, "days_since_usage": np.nan,
        "churned": 0, "days_to_churn": 90, "future_value": 90 * 100 / M,
        "value_365d": 365 * 100 / M,
    },
    # C3: left 2023-12-05, back on 2024-05-15 with a two-year contract ending 2026-05-15
    "C3": {
        "tenure_days": 66, "customer_since_days": 411, "previous_cancellations": 1,
        "n_products": 1, "mrr": 60, "contract_months": 24, "is_trial": 0,
        "contract_days_left": 664, "months_out_of_contract": np.nan, "mrr_change_90d": np.nan,
        "upgrades_365d": 0, "downgrades_365d": 0,
        "revenue_90d": 67 * 60 / M, "revenue_365d": (136 * 60 + 67 * 60) / M,
        "dropped_products_180d": 0,
        "failed_payments_60d": 0, "failed_payments_180d": 0, "late_payments_180d": 0,
        "payments_180d": 0, "days_since_failed_payment": np.nan, "past_due": 0,
        "usage_30d__data": 5, "usage_90d__data": 10, "usage_trend_90d__data": 1.0,
        "usage_vs_year__data": 1.0, "days_since_usage": 5,
        "churned": 0, "days_to_churn": 90, "future_value": 90 * 60 / M,
        "value_365d": 365 * 60 / M,
    },
}  # fmt: skip


def test_who_gets_a_row():
    # D4 starts after the cutoff; E5's service ended on the cutoff day; Z9 has only a payment
    assert list(build().index) == ["A1", "B2", "C3"]
    assert list(build("2024-08-01").index) == ["A1", "B2", "C3", "D4"]


@pytest.mark.parametrize("customer", sorted(EXPECTED))
def test_hand_computed_features_and_labels(customer):
    row = build().loc[customer]
    for column, value in EXPECTED[customer].items():
        assert row[column] == pytest.approx(value, nan_ok=True, abs=1e-9), column


def test_every_column_is_expected_and_categories_are_as_of_the_cutoff():
    frame = build()
    extra = {"customer_id", "cutoff", "plan", "attr_region"}
    assert set(frame.reset_index().columns) == set(EXPECTED["A1"]) | extra
    assert frame["plan"].astype(str).to_dict() == {"A1": "标准", "B2": "畅享", "C3": "基础"}
    assert frame["attr_region"].tolist()[:2] == ["华东", "华北"]
    assert pd.isna(frame.loc["C3", "attr_region"])


def test_a_plan_change_keeps_the_customer_running():
    row = build("2024-06-10", labels=False).loc["A1"]
    assert row["tenure_days"] == 152 and row["mrr"] == 80 and row["upgrades_365d"] == 1


def test_a_short_gap_is_not_a_departure():
    # A1 comes back 10 days after leaving (within the 14-day grace): no churn at the cutoff
    back = subscriptions([("A1", "S8", "标准", "2024-09-20", None, 80.0, 1, 0)])
    assert build(subs=back).loc["A1", "churned"] == 0
    # 20 days later it is a departure (and a return)
    late = subscriptions([("A1", "S8", "标准", "2024-09-30", None, 80.0, 1, 0)])
    assert build(subs=late).loc["A1", "churned"] == 1


def test_the_contract_term_rolls_over_without_a_new_row():
    # a one-year contract from 2023-01-31 with no renewal row: at 2024-03-10 the running term
    # ends 2025-01-31
    subs = subscriptions()[:0]
    subs.loc[0] = [
        "X",
        "S",
        "p",
        pd.Timestamp("2023-01-31"),
        pd.NaT,
        10.0,
        1,
        12,
        "active",
        False,
        10.0,
    ]
    frame = build("2024-03-10", False, subs, payments()[:0], usage()[:0], customers()[:0])
    assert (
        frame["contract_days_left"].iloc[0]
        == (pd.Timestamp("2025-01-31") - pd.Timestamp("2024-03-10")).days
    )


def test_add_months_keeps_the_day_or_the_month_end():
    moved = add_months(np.array([to_day("2024-01-31"), to_day("2023-03-15")]), np.array([1, 12]))
    assert [str(to_date(d).date()) for d in moved] == ["2024-02-29", "2024-03-15"]


def test_blank_plans_and_per_customer_subscription_numbers():
    """A blank plan is no level (and no plan change); subscription "1" of two customers is two
    subscriptions: F6's spells do not make an upgrade of G7's."""
    extra = [
        ("F6", "1", None, "2024-01-01", "2024-05-01", 50.0, 1, 0),
        ("F6", "1", None, "2024-05-01", None, 80.0, 1, 0),  # a price change, plan unknown
        ("G7", "1", "基础", "2024-02-01", "2024-06-01", 50.0, 1, 0),
        ("H8", "1", "标准", "2024-06-01", None, 80.0, 1, 0),  # H8's "1" starts as G7's ends
    ]
    frame = build(subs=subscriptions(extra), labels=False)
    assert pd.isna(frame.loc["F6", "plan"]) and "" not in frame["plan"].cat.categories
    assert frame.loc["F6", "upgrades_365d"] == 0  # no known plan on either side
    assert frame.loc["H8", "upgrades_365d"] == 0  # not a continuation of G7's "1"
    assert (
        frame.loc["H8", "tenure_days"] == (pd.Timestamp(CUTOFF) - pd.Timestamp("2024-06-01")).days
    )
    assert frame.loc["A1", "upgrades_365d"] == 1  # a real plan change still counts
