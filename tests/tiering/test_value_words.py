"""The export's values in words (`data.value_words`): English reasons and short names say a mapped
category, channel, plan or attribute value in words, Chinese ones keep the value unless given
words, a value not mapped reads as written, a column no reason says is left out with a warning,
and words written otherwise stop at composing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.app.checks import checked
from segml.app.params import compose
from segml.config import to_typed
from segml.errors import ConfigError, InputWarning
from segml.stages.artifacts import reasons_tiering
from segml.tiering.behaviour import behaviour_facts
from segml.tiering.reasons import ReasonBook, feature_labels, phrase_reasons
from segml.tiering.value_words import value_words, with_value_words
from tests.conftest import ROOT
from tests.tiering.test_reasons import snapshot

WORDS = {
    "category": {"服装": "clothing"},
    "channel": {"官网": {"en": "website", "zh": "官方网站"}},
    "region": {"华东": "East China"},
}


def reasons(tiering, snap, groups: dict) -> dict:
    """Each customer's churn reasons from hand-set group contributions, with the values' words."""
    book = ReasonBook(tiering.reasons, tiering.value_window_days)
    matrix = np.zeros((len(snap), len(book.groups)))
    for key, values in groups.items():
        matrix[:, book.keys().index(key)] = values
    facts = behaviour_facts(snap, 90, 365, 90).saying(tiering.reasons.get("value_words") or {})
    return {k: list(v) for k, v in phrase_reasons(matrix, facts, book, "churn").items()}


def shop_customers() -> pd.DataFrame:
    """Two customers: the first buys mostly clothing, the second mostly beauty (not mapped)."""
    snap = snapshot(recency_days=[10.0, 10.0], n_categories=[2.0, 2.0])
    snap["category_share__服装"] = [0.6, 0.25]
    snap["category_share__美妆"] = [0.4, 0.75]
    snap["attr_region"] = ["华东", "华南"]
    return snap


def said(cfg, words: dict):
    """The demo's tiering settings with `words` as data.value_words."""
    return with_value_words(cfg.tiering, words, cfg.data.customer_columns)


def test_english_reasons_say_mapped_values_in_words_and_others_as_written(cfg):
    tiering = said(cfg, WORDS)
    groups = {"category": [0.5, 0.5], "channel": [-0.3, -0.3], "region": [0.2, 0.2]}
    out = reasons(tiering, shop_customers(), groups)
    assert out["en"] == [
        "raises risk: buys from 2 categories, mostly clothing (60% of spend); region East China"
        " · lowers risk: buys mostly via website (70% of spend)",
        "raises risk: buys from 2 categories, mostly 美妆 (75% of spend); region 华南"
        " · lowers risk: buys mostly via website (70% of spend)",
    ]
    # Chinese: the value as written unless words are given for Chinese too (官网 -> 官方网站)
    assert out["zh"][0] == (
        "推高流失风险：购买2个品类，以服装为主（占消费60%）；地区：华东"
        " · 降低流失风险：主要通过官方网站购买（占消费70%）"
    )
    plain = reasons(cfg.tiering, shop_customers(), groups)  # nothing mapped: as written
    assert plain["en"][0] == (
        "raises risk: buys from 2 categories, mostly 服装 (60% of spend); region 华东"
        " · lowers risk: buys mostly via 官网 (70% of spend)"
    )


def test_short_names_say_mapped_values_in_words(cfg):
    names = said(cfg, WORDS).reasons["names"]
    labels = feature_labels(
        ["category_share__服装", "category_share__美妆", "channel_share__官网"], names
    )
    assert labels["category_share__服装"] == {
        "en": "Share of spend: clothing",
        "zh": "服装消费占比",
    }
    assert labels["category_share__美妆"]["en"] == "Share of spend: 美妆"  # not mapped
    assert labels["channel_share__官网"] == {"en": "Share via website", "zh": "官方网站渠道占比"}
    assert said(cfg, {}) is cfg.tiering  # nothing mapped: unchanged


def test_the_demo_says_every_value_it_generates_in_english(cfg):
    """The demo's own config maps every category, channel and category attribute value its
    generator writes, so its English reasons carry no Chinese value."""
    from segml.data import generate

    words = value_words(cfg.data.value_words, cfg.data.customer_columns)
    generated = {
        "category": generate.CATEGORIES,
        "channel": generate.CHANNELS,
        "region": generate.REGIONS,
        "city_tier": generate.CITY_TIERS,
        "acquisition_channel": generate.ACQUISITION,
        "gender": generate.GENDERS,
    }
    for column, values in generated.items():
        assert set(words[column]) == set(values), column
    assert reasons_tiering(cfg).reasons["value_words"]["top_category"]["服装"]["en"] == "clothing"


def test_the_subscription_demo_says_every_text_value_it_generates_in_english():
    """As the transaction demo: plans (add-ons too), industries, payment methods, regions and
    acquisition channels; credit grades are letters already."""
    from segml.data import subscription_state as state

    overrides = ["data=subscription_demo", "paths=subscription_demo"]
    data = to_typed(compose(overrides, ROOT / "conf")).data
    words = value_words(data.value_words, data.customer_columns)
    generated = {
        "plan": [*state.PLANS, *(a for a in state.ADDONS if not a.isascii())],
        "industry": [*state.INDUSTRIES, "个人"],
        "payment_method": state.PAYMENT_METHODS,
        "region": state.REGIONS,
        "acquisition_channel": state.CHANNELS,
    }
    for column, values in generated.items():
        assert set(words[column]) == set(values), column


@pytest.mark.parametrize(
    "given, named",
    [
        ({"category": ["clothing"]}, "data.value_words.category"),
        ({"category": {"服装": {"fr": "vêtements"}}}, "data.value_words.category.服装"),
        ({"category": {"服装": 3}}, "data.value_words.category.服装"),
        ({"category": {"服装": {"en": ""}}}, "data.value_words.category.服装"),
    ],
)
def test_words_written_otherwise_stop_naming_the_setting(cfg, given, named):
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        value_words(given, cfg.data.customer_columns)


def test_a_column_no_reason_says_is_left_out_with_a_warning(cfg):
    """A misspelt column, an attribute no longer mapped or a number attribute: its words are not
    used, and the warning names the closest column reasons say."""
    columns = {**cfg.data.customer_columns, "size": {"column": "员工人数", "type": "number"}}
    given = {"regoin": {"华东": "East China"}, "size": {"10": "ten"}, "gender": {"男": "male"}}
    with pytest.warns(InputWarning) as caught:
        words = value_words(given, columns)
    assert set(words) == {"gender"}
    said = [str(w.message) for w in caught]
    assert len(said) == 2
    assert "data.value_words.regoin" in said[0] and "Did you mean 'region'?" in said[0]
    assert "data.value_words.size" in said[1] and "Remove it if it is not needed" in said[1]
    # a plain customer column is a category attribute: its values are said
    words = value_words({"age_band": {"18-24": "aged 18 to 24"}}, columns)
    assert words["age_band"]["18-24"] == {"en": "aged 18 to 24", "zh": "18-24"}


def test_a_value_yaml_reads_as_a_number_is_looked_up_as_the_text_the_data_holds(cfg):
    """`{1: first-tier city}` in YAML has the number 1 as its key; the customer table's value is
    the text "1", and so is the key the words are found by."""
    words = value_words(
        {"city_tier": {1: "first-tier city", 2.5: "between"}}, cfg.data.customer_columns
    )
    assert words["city_tier"] == {
        "1": {"en": "first-tier city", "zh": "1"},
        "2.5": {"en": "between", "zh": "2.5"},
    }
    facts = behaviour_facts(snapshot(recency_days=[10.0], attr_city_tier=["1"]), 90, 365, 90)
    said = facts.saying({"attr_city_tier": words["city_tier"]})
    assert list(said.values("attr_city_tier", "en")) == ["first-tier city"]
    assert list(said.values("attr_city_tier", "zh")) == ["1"]
    assert list(said.values("attr_city_tier")) == ["1"]  # no language: as the data holds it


def test_composing_warns_of_a_mistyped_column_and_stops_on_badly_written_words(tmp_path):
    raw = compose(conf_dir=ROOT / "conf", overrides=["+data.value_words.regoin={north: North}"])
    with pytest.warns(InputWarning, match=r"data\.value_words\.regoin.*Did you mean 'region'"):
        checked(raw, tmp_path / "no-dvc.yaml")
    raw = compose(conf_dir=ROOT / "conf", overrides=["data.value_words.channel={APP: 3}"])
    with pytest.raises(ConfigError, match=r"data\.value_words\.channel\.APP=3: write the words"):
        checked(raw, tmp_path / "no-dvc.yaml")
