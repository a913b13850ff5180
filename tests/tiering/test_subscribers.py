"""Subscribers in the tier stage: lifecycle status from the configured rules, cancelled customers
listed apart, and reasons in plain words for every subscriber feature (conf/tiering)."""

import numpy as np
import pandas as pd
import pytest

from segml.features.spells import cancelled_at, index_spells
from segml.features.transactions import to_day
from segml.tiering.policies import subscriber_status
from segml.tiering.reasons import Phrasebook, ReasonBook, phrase_reasons
from segml.tiering.seams import subscriber_facts
from tests.features.test_subscriptions import build, subscriptions


def test_status_rules_in_config_order(cfg):
    snap = pd.DataFrame(
        {
            "is_trial": [1, 0, 0, 0, 0, 0],
            "past_due": [1, 1, 0, 0, 0, 0],
            "previous_cancellations": [0, 1, 1, 0, 0, 0],
            "tenure_days": [10, 100, 100, 30, 400, 400],
        }
    )
    p = np.array([0.9, 0.9, 0.9, 0.9, 0.3, 0.29])
    status = subscriber_status(snap, p, cfg.tiering.lifecycle_subscription["rules"])
    assert status.tolist() == ["trial", "past_due", "won_back", "new", "at_risk", "active"]


def test_cancelled_customers_are_listed_apart_with_when():
    spells = index_spells(subscriptions())
    out = cancelled_at(spells, to_day("2024-07-20"))
    # E5's service ended on the cutoff day after 7 months (2024-01-01 .. 2024-07-20); C3 runs
    assert out["customer_id"].tolist() == ["E5"]
    assert out["reject_reasons"].iloc[0] == "cancelled on 2024-07-20 after 7 months"
    assert out["reject_reasons_zh"].iloc[0] == "2024-07-20取消，此前订阅7个月"
    # A1 ended 2024-09-10; E5 left more than 365 days before 2025-08-01; B2, C3 and D4 run
    later = cancelled_at(spells, to_day("2025-08-01"))
    assert later["customer_id"].tolist() == ["A1"]


def reasons_for(cfg, frame: pd.DataFrame, feature_sign: dict[str, float]):
    """Each customer's churn reasons when only these features drive the score (sign = direction)."""
    book = ReasonBook(cfg.tiering.reasons, cfg.tiering.value_window_days)
    contributions = np.zeros((len(frame), len(book.groups)))
    for feature, sign in feature_sign.items():
        contributions[:, book.group_of(feature)] += sign
    facts = subscriber_facts(frame.reset_index(), 90, 365, 90)
    return phrase_reasons(contributions, facts, book, "churn")


def test_plain_words_for_subscribers(cfg):
    frame = build(labels=False)  # A1, B2, C3 at 2024-07-20 (tests.features.test_subscriptions)
    text = reasons_for(cfg, frame, {"past_due": 1.0, "failed_payments_60d": 0.5})
    assert text["en"][0] == "raises risk: the latest bill is unpaid"
    frame.loc["A1", "past_due"] = 0.0
    text = reasons_for(cfg, frame, {"failed_payments_60d": 1.0, "months_out_of_contract": 0.5})
    # A1: three failed payments; B2: 4.6 months out of contract (rounded)
    assert text["en"][0] == (
        "raises risk: 3 failed payments in the last 60 days; month-to-month, no contract"
    )
    assert text["zh"][0] == "推高流失风险：近60天扣款失败3次；无合约（按月）"
    assert text["en"][1] == "raises risk: month-to-month for 5 months, no longer under contract"
    frame.loc["A1", "failed_payments_60d"] = 2.0
    text = reasons_for(cfg, frame, {"failed_payments_60d": 1.0})
    assert text["en"][0] == "raises risk: two failed payments in the last 60 days"
    assert text["zh"][0] == "推高流失风险：近60天扣款失败2次"
    frame.loc["C3", "contract_days_left"] = 41.0
    text = reasons_for(cfg, frame, {"contract_days_left": 1.0, "usage_trend_90d__data": 0.5})
    # C3's usage is as usual (a plain fact); A1's fell to half its usual level
    assert (
        text["en"][2]
        == "raises risk: contract ends in 41 days; data usage at 100% of its usual level"
    )
    assert text["zh"][0] == "推高流失风险：无合约（按月）；data用量为平时的50%"


def test_every_subscriber_feature_has_a_group_and_a_name_and_no_raw_text(cfg):
    from segml.features.build import feature_columns

    frame = build(labels=False)
    book = ReasonBook(cfg.tiering.reasons, cfg.tiering.value_window_days)
    features = feature_columns(frame)
    assert [f for f in features if book.group_of(f) < 0] == []
    names = Phrasebook(cfg.tiering.reasons["names"])
    assert [f for f in features if not names.covers(f)] == []
    for sign in (1.0, -1.0):
        text = reasons_for(cfg, frame, {f: sign for f in features})
        for language in ("en", "zh"):
            joined = " | ".join(text[language])
            assert joined.count("|") == 2 and all(text[language])
            for raw in ("_", "nan", "{", "None"):
                assert raw not in joined, (raw, joined)


@pytest.mark.parametrize("feature", ["recency_days", "spend_90d", "attr_region", "tenure_days"])
def test_subscriber_groups_take_no_purchase_feature(cfg, feature):
    book = ReasonBook(cfg.tiering.reasons, cfg.tiering.value_window_days)
    subscriber_groups = {"payments", "contract", "plan_changes", "fee", "history", "usage"}
    assert book.groups[book.group_of(feature)].key not in subscriber_groups
