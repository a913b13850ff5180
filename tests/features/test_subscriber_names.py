"""The subscriber features' names as the configured windows make them: the same list the builder
writes, for the default windows and for others, and the setting behind each windowed name."""

from __future__ import annotations

import dataclasses

import pytest

from segml.config import FeaturesConfig
from segml.features import subscriptions as fs
from segml.features.subscriber_names import made_by, segment_features, subscriber_features
from segml.features.transactions import to_day
from tests.features.test_subscriptions import CUTOFF, customers, payments, subscriptions, usage

LABELS = {"churned", "days_to_churn", "future_value", "value_365d"}


@pytest.mark.parametrize(
    "windows",
    [
        {},
        {
            "payment_windows": [30, 90],
            "usage_windows": [14, 60, 120],
            "trend_days": 60,
            "revenue_windows": [30, 180],
        },
    ],
)
def test_the_names_are_the_columns_the_builder_writes(windows):
    cfg = dataclasses.replace(FeaturesConfig(), subscriptions=windows)
    idx = fs.index_subscribers(subscriptions(), payments(), usage(), customers())
    vocab = fs.fit_vocabulary(idx, cfg, to_day(CUTOFF))
    frame = fs.build_features(idx, [to_day(CUTOFF)], cfg, vocab, 90, with_labels=True)
    built = set(frame.columns) - LABELS - {"customer_id", "cutoff", "attr_region"}
    assert built == set(subscriber_features(fs.Settings.of(cfg), tuple(vocab.usage_kinds)))


def test_each_windowed_name_says_its_setting():
    assert made_by("failed_payments_60d") == "payment_windows"
    assert made_by("late_payments_180d").startswith("payment_windows")
    assert made_by("usage_90d__流量GB") == "usage_windows"
    assert made_by("usage_trend_90d__流量GB") == "trend_days"
    assert made_by("dropped_products_180d") == "dropped_days"
    assert made_by("tenure_days") is None


def test_segment_features_follow_the_longest_windows():
    default = fs.Settings()
    assert segment_features(default, ["流量GB", "通话分钟"]) == [
        "mrr", "tenure_days", "n_products", "failed_payments_180d", "contract_months",
        "usage_90d__流量GB",
    ]  # fmt: skip
    other = fs.Settings(payment_windows=(30, 120), usage_windows=(30, 60))
    assert segment_features(other, [])[3] == "failed_payments_120d"
    assert segment_features(other, ["data"])[-1] == "usage_60d__data"
