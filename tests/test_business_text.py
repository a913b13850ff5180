"""Business-facing text on generated data: every model feature has a plain phrase, no reason
shows a raw feature name or a long float, and persona, RFM segment and lifecycle never
contradict each other."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from segml.explain import Phrasebook
from segml.features import feature_columns
from segml.generate import generate
from segml.pipeline import run_pipeline

RAW_NAME = re.compile(r"[a-z]+_[a-z_]+ =")
LONG_FLOAT = re.compile(r"\d\.\d{4,}")
# Feature names the lead is adding in parallel: they must have phrases before they land.
UPCOMING_FEATURES = ["gg_expected_aov", "recency_pct", "frequency_pct", "monetary_pct", "purchases_per_month"]


@pytest.fixture(scope="module")
def result(cfg):
    demo = generate(1500, seed=21)
    identity = dataclasses.replace(cfg.data, columns={k: k for k in cfg.data.columns},
                                   customer_columns={k: k for k in cfg.data.customer_columns})
    return run_pipeline(demo.transactions.astype(str), demo.customers.astype("string"),
                        dataclasses.replace(cfg, data=identity))


def test_every_model_feature_has_a_phrase_and_a_name(cfg, result):
    features = feature_columns(result.datasets.snapshot) + UPCOMING_FEATURES
    reasons_cfg = cfg.tiering.reasons
    for entries, what in ((reasons_cfg["phrases"], "phrases"), (reasons_cfg["names"], "names")):
        book = Phrasebook(entries)
        missing = [f for f in features if not book.covers(f)]
        assert not missing, f"tiering.reasons.{what} has no entry for {missing}"


def test_reasons_have_no_raw_names_or_long_floats(result):
    table = result.tiers.table
    for column in ("churn_reasons_en", "churn_reasons_zh", "value_reasons_en", "value_reasons_zh"):
        text = table[column]
        assert text.str.len().gt(0).all()
        assert not text.str.contains(RAW_NAME).any(), text[text.str.contains(RAW_NAME)].head().tolist()
        assert not text.str.contains(LONG_FLOAT).any(), text[text.str.contains(LONG_FLOAT)].head().tolist()
        assert not text.str.contains(r"(?<![a-z])nan(?![a-z])", case=False).any()
    # the fallback is rare: the phrase book knows the features the models use
    fallback = table["value_reasons_en"].str.contains("other buying behaviour").mean()
    assert fallback < 0.05


def test_labels_never_contradict_the_lifecycle(cfg, result):
    table = result.tiers.table
    first_purchase_recent = table["tenure_days"] <= cfg.tiering.lifecycle["new_within_days"]
    assert first_purchase_recent.any()
    for column in ("rfm_segment", "persona"):
        assert not table.loc[first_purchase_recent, column].isin(["lost", "hibernating"]).any(), column
    lost = table["lifecycle_status"] == "lost"
    assert lost.any()
    assert not table.loc[lost, "persona"].isin(["champions", "loyal", "new", "promising"]).any()
    assert not table.loc[lost, "rfm_segment"].isin(["champions", "loyal", "new", "promising"]).any()
    # a persona or RFM segment named "new" is only given to customers whose first purchase is recent
    for column in ("rfm_segment", "persona"):
        assert (table.loc[table[column] == "new", "lifecycle_status"] == "new").all(), column
    # every customer a status allows keeps it: the persona key and its names agree
    names = {key: p["en"] for key, p in cfg.segment.personas.items()}
    assert (table["persona"].map(names) == table["persona_en"]).all()
    assert set(table["rfm_code"].str.len()) == {3}
    assert pd.api.types.is_integer_dtype(table["rfm_r"])
