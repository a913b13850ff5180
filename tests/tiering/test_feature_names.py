"""Subscribers' lifecycle rules and reason phrases name features that are built: a name the
configured windows do not make (or no feature at all) stops when the config is composed, with the
setting, the name and what to do; the shipped config and transactions pass."""

from __future__ import annotations

import copy

import pytest

from segml.app.params import compose
from segml.config import to_typed
from segml.errors import ConfigError
from segml.tiering.feature_names import check_subscriber_names
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def subscribers():
    """The subscription demo's composed config, as a plain dict to change."""
    return compose(["data=subscription_demo", "paths=subscription_demo"], conf_dir=ROOT / "conf")


def checked(raw: dict) -> None:
    check_subscriber_names(to_typed(raw))


def test_the_shipped_config_names_only_built_features(subscribers, cfg):
    checked(subscribers)
    check_subscriber_names(cfg)  # transactions: nothing to check


def test_a_phrase_naming_a_window_not_built_stops_with_the_setting(subscribers):
    raw = copy.deepcopy(subscribers)
    raw["features"]["subscriptions"]["payment_windows"] = [30, 90]
    with pytest.raises(ConfigError) as caught:
        checked(raw)
    text = str(caught.value)
    assert "tiering.reasons.groups[payments]" in text and "`failed_payments_60d`" in text
    assert "features.subscriptions.payment_windows = [30, 90]" in text
    assert "failed_payments_30d, failed_payments_90d" in text and "Add its days" in text


def test_a_lifecycle_rule_naming_an_unknown_feature_stops(subscribers):
    raw = copy.deepcopy(subscribers)
    raw["tiering"]["lifecycle_subscription"]["rules"][1]["when"] = ["pastdue >= 1"]
    with pytest.raises(ConfigError, match=r"lifecycle_subscription.rules\[1\] names `pastdue`"):
        checked(raw)
    raw["tiering"]["lifecycle_subscription"]["rules"][1]["when"] = ["usage_30d__流量GB < 1"]
    checked(raw)  # a usage kind's feature of a built window


def test_a_usage_rule_of_a_window_not_built_stops(subscribers):
    raw = copy.deepcopy(subscribers)
    raw["tiering"]["lifecycle_subscription"]["rules"][1]["when"] = ["usage_60d__流量GB < 1"]
    with pytest.raises(ConfigError, match=r"usage_windows = \[30, 90\] builds usage_30d__\*"):
        checked(raw)


def test_unknown_feature_settings_and_bad_usage_words_stop_at_compose(subscribers):
    raw = copy.deepcopy(subscribers)
    raw["features"]["subscriptions"]["payment_window"] = [60]
    with pytest.raises(ConfigError, match="features.subscriptions: unknown keys"):
        checked(raw)
    raw = copy.deepcopy(subscribers)
    raw["data"]["usage"]["kinds"] = {"流量GB": {"english": "data"}}
    with pytest.raises(ConfigError, match="data.usage.kinds.流量GB"):
        checked(raw)
