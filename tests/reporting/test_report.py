"""The HTML report: every section, in each language, with plain labels, offline; the parts with no
data say so; movers explained; the BG/NBD matrix by hand."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from segml.reporting.model_quality import frequency_recency_matrix
from segml.reporting.report import SECTIONS, render
from tests.reporting.conftest import sample_report_inputs, visible_text


@pytest.mark.parametrize("language", ["zh", "en", "both"])
def test_report_sections_language_and_plain_labels(cfg, table, summary, backtest, language):
    ecfg = dataclasses.replace(cfg.export, language=language)
    page = render(sample_report_inputs(table, summary, backtest), ["low", "mid", "high"], ecfg)
    for key in (
        "kpis",
        "tiers",
        "lifecycle",
        "at-risk",
        "teams",
        "rfm",
        "movement",
        "grades",
        "backtest",
        "calibration",
        "matrices",
        "quality",
    ):
        assert f'id="{key}"' in page, key
    assert key in SECTIONS
    assert page.count("<script") >= 1 and "plotly" in page.lower()
    # opens offline: no link, stylesheet, font or script from the web (plotly.js itself is inline; the
    # browser test proves it requests nothing either)
    outside_scripts = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"https?://|//cdn|@import|@font-face", outside_scripts)
    assert not re.search(r"<script[^>]+src=", page)
    text = visible_text(page)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)[:5]
    assert "NaN" not in text and not re.search(r"\d\.\d{3,}", text)
    zh, en = "规则：距上次购买天数" in text, "Rule: days since last purchase" in text
    assert (zh, en) == {"zh": (True, False), "en": (False, True), "both": (True, True)}[language]
    assert ("folds" in text) == (language != "zh") and ("0.71 ± 0.01" in text)  # model: .70 .71 .72


def test_report_without_backtest_says_so(cfg, table, summary):
    page = render(sample_report_inputs(table, summary), ["low", "mid", "high"], cfg.export)
    assert "No backtest results in this run." in page


def test_frequency_recency_matrix_by_hand():
    features = pd.DataFrame(
        {
            "frequency": [1.0, 1, 2, 12],
            "recency_days": [10.0, 20, 400, 5],
            "bgnbd_p_alive": [0.9, 0.7, 0.1, 1.0],
        }
    )
    matrix = frequency_recency_matrix(features, "bgnbd_p_alive")
    assert matrix.loc["0", "0–30"] == pytest.approx(
        0.8
    )  # two one-time buyers, bought 10 and 20 days ago
    assert matrix.loc["1", "366+"] == pytest.approx(0.1) and matrix.loc["10+", "0–30"] == 1.0
    assert matrix.isna().sum().sum() == matrix.size - 3


def test_movers_are_explained_by_their_own_spend_or_by_moved_boundaries(cfg, table, summary):
    inputs = sample_report_inputs(table, summary)
    same = table.iloc[3:4].assign(
        previous="A", current="B", previous_value=table["current_value"].iloc[3]
    )
    movement = {**inputs.movement, "downgrades": same}
    ecfg = dataclasses.replace(cfg.export, language="en")
    text = visible_text(render(dataclasses.replace(inputs, movement=movement), None, ecfg))
    rose = f"rose from ¥10 to ¥{table['current_value'].iloc[0]:,.0f}"
    assert f"spend in the last 12 months {rose}" in text
    assert "about the same spend; the tier boundaries moved" in text
