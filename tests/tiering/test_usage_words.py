"""Usage kinds in words (`data.usage.kinds`): reasons and short feature names say the configured
words per language, a kind not mapped reads as the export writes it, and the trend's days come
from the features built (`features.subscriptions.trend_days`), not from the phrase."""

from __future__ import annotations

import numpy as np
import pytest

from segml.errors import ConfigError
from segml.tiering.reasons import ReasonBook, feature_labels, phrase_reasons
from segml.tiering.seams import subscriber_facts
from segml.tiering.usage_words import usage_words, with_usage_words
from tests.features.test_subscriptions import build

USAGE = {"kinds": {"data": {"en": "mobile data (GB)", "zh": "流量（GB）"}, "sms": "短信"}}


def reasons(tiering, frame, words):
    book = ReasonBook(tiering.reasons, tiering.value_window_days)
    contributions = np.zeros((len(frame), len(book.groups)))
    contributions[:, book.group_of("usage_trend_90d__data")] = 1.0
    facts = subscriber_facts(frame.reset_index(), 90, 365, 90, words)
    return phrase_reasons(contributions, facts, book, "churn")


def test_reasons_say_the_usage_kind_in_words(cfg):
    frame = build(labels=False)  # A1's data usage fell to half its usual level
    tiering = with_usage_words(cfg.tiering, USAGE)
    text = reasons(tiering, frame, tiering.reasons["usage_kinds"])
    assert text["en"][0] == "raises risk: mobile data (GB) usage at 50% of its usual level"
    assert text["zh"][0] == "推高流失风险：流量（GB）用量为平时的50%"
    plain = reasons(cfg.tiering, frame, {})  # not mapped: as the export writes it
    assert plain["en"][0] == "raises risk: data usage at 50% of its usual level"
    assert plain["zh"][0] == "推高流失风险：data用量为平时的50%"


def test_the_trend_phrase_names_the_configured_trend_days(cfg):
    frame = build(labels=False).rename(columns={"usage_trend_90d__data": "usage_trend_60d__data"})
    frame.loc["A1", "usage_trend_60d__data"] = -0.6
    book = ReasonBook(cfg.tiering.reasons, cfg.tiering.value_window_days)
    contributions = np.zeros((len(frame), len(book.groups)))
    contributions[:, book.group_of("usage_trend_60d__data")] = 1.0
    facts = subscriber_facts(frame.reset_index(), 90, 365, 90)
    text = phrase_reasons(contributions, facts, book, "churn")
    assert text["en"][0] == "raises risk: data usage falling: down 75% against the 60 days before"
    assert text["zh"][0] == "推高流失风险：data用量下降：较前60天减少75%"


def test_short_names_say_mapped_kinds_in_words_and_others_as_written(cfg):
    names = with_usage_words(cfg.tiering, USAGE).reasons["names"]
    labels = feature_labels(
        ["usage_90d__data", "usage_trend_90d__sms", "usage_vs_year__voice"], names
    )
    assert labels["usage_90d__data"] == {
        "en": "mobile data (GB) usage, last 90 days",
        "zh": "近90天流量（GB）用量",
    }
    assert labels["usage_trend_90d__sms"] == {
        "en": "短信 usage trend, last 90 days",
        "zh": "近90天短信用量趋势",
    }
    assert labels["usage_vs_year__voice"]["en"] == "voice usage against usual"
    assert with_usage_words(cfg.tiering, {}) is cfg.tiering  # nothing mapped: unchanged


@pytest.mark.parametrize("kinds", [["data"], {"data": {"fr": "données"}}, {"data": 3}])
def test_usage_words_badly_written_stop_with_how_to_write_them(kinds):
    with pytest.raises(ConfigError, match="data.usage.kinds"):
        usage_words({"kinds": kinds})
