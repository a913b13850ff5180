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
        "at-risk",
        "tiers",
        "lifecycle",
        "teams",
        "movement",
        "rfm",
        "grades",
        "backtest",
        "calibration",
        "matrices",
        "quality",
    ):
        assert f'id="{key}"' in page, key
    assert key in SECTIONS
    # page one in the agreed order: key figures, call first, tiers, lifecycle, teams, movement, RFM
    page_one = ["kpis", "at-risk", "tiers", "lifecycle", "teams", "movement", "rfm", "labels"]
    places = [page.index(f'id="{k}"') for k in page_one]
    assert places == sorted(places) and SECTIONS[: len(page_one)] == page_one
    assert page.count("<script") >= 1 and "plotly" in page.lower()
    # opens offline: no link, stylesheet, font or script from the web (plotly.js itself is inline; the
    # browser test proves it requests nothing either)
    outside_scripts = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S)
    assert not re.search(r"https?://|//cdn|@import|@font-face", outside_scripts)
    assert not re.search(r"<script[^>]+src=", page)
    text = visible_text(page)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text), re.findall(r"\b[a-z]+_[a-z_]+\b", text)[:5]
    assert "NaN" not in text and not re.search(r"\d\.\d{4,}", text)
    zh, en = "规则：距上次购买天数" in text, "Rule: days since last purchase" in text
    assert (zh, en) == {"zh": (True, False), "en": (False, True), "both": (True, True)}[language]
    # model: .70 .71 .72 over the folds; three decimals, so a small margin shows
    assert ("folds" in text) == (language != "zh") and ("0.710 ± 0.010" in text)


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


def test_backtest_shows_the_models_margin_over_the_best_baseline(cfg, table, summary, backtest):
    """Means over three folds (conftest): model .71, rule .69, BG/NBD .67. AUC: higher is better,
    +0.710 - 0.690 = +0.020; Brier: lower is better, the best baseline is .67: 0.670 - 0.710."""
    ecfg = dataclasses.replace(cfg.export, language="en")
    page = render(sample_report_inputs(table, summary, backtest), None, ecfg)
    section = page[page.index('id="backtest"') : page.index('id="validation"')]
    text = visible_text(section)
    assert "Model vs best baseline (+ = better)" in text
    assert "+0.020" in text and "-0.040" in text


def test_backtest_margin_leaves_the_blend_out(cfg, table, summary, backtest):
    """A blend better than the model (.72 per fold over the model's mean .71) is no baseline: the
    margin stays the model's over BG/NBD and the rule, +0.020 (over the blend it would be -0.010)."""
    blend = backtest[backtest["scorer"] == "model"].assign(scorer="blend")
    blend["value"] = blend["value"] + 0.01
    ecfg = dataclasses.replace(cfg.export, language="en")
    inputs = sample_report_inputs(table, summary, pd.concat([backtest, blend], ignore_index=True))
    page = render(inputs, None, ecfg)
    text = visible_text(page[page.index('id="backtest"') : page.index('id="validation"')])
    assert "+0.020" in text and "-0.010" not in text


def test_the_value_models_bgnbd_baseline_is_bgnbd_x_gamma_gamma(cfg, table, summary, backtest):
    """The value model's BG/NBD baseline is BG/NBD x Gamma-Gamma in the backtest and validation
    tables and the grade line, named as the console names it (`scorer_key`); churn's is BG/NBD."""
    value = backtest[(backtest["target"] == "upside") & (backtest["scorer"] != "model")]
    inputs = sample_report_inputs(
        table, summary, pd.concat([backtest, value.assign(scorer="baseline_bgnbd")])
    )
    metrics = pd.DataFrame(
        {
            "target": ["upside", "upside"],
            "scorer": ["model", "baseline_bgnbd"],
            "normalized_gini": [0.6, 0.58],
        }
    )
    grades = {"upside": {"grade": "B", "beats_baseline": True, "best_baseline": "baseline_bgnbd"}}
    inputs = dataclasses.replace(inputs, metrics=metrics, grades=grades)
    page = render(inputs, None, dataclasses.replace(cfg.export, language="both"))
    for start, end in (("backtest", "validation"), ("validation", "calibration")):
        text = visible_text(page[page.index(f'id="{start}"') : page.index(f'id="{end}"')])
        assert "BG/NBD×Gamma-Gamma BG/NBD x Gamma-Gamma" in text, (start, text)
    text = visible_text(page)
    assert "最佳基准（BG/NBD×Gamma-Gamma BG/NBD x Gamma-Gamma）" in text
    assert "BG/NBD概率模型 BG/NBD" in text  # the churn model's backtest: BG/NBD itself


def test_money_measures_in_whole_yuan_and_no_library_names(cfg, table, summary, backtest):
    """The mean absolute error (¥) in whole yuan in the backtest table and its margin (it showed
    547.705); the BG/NBD matrices' note says what it means, not "As in lifetimes"."""
    mae = backtest[backtest["metric"] == "top20_capture"].assign(metric="mae")
    mae["value"] = mae["value"] * 1000 + 0.2345  # model 710.2345 .. over the folds
    inputs = sample_report_inputs(table, summary, pd.concat([backtest, mae], ignore_index=True))
    for language in ("en", "zh"):
        page = render(inputs, None, dataclasses.replace(cfg.export, language=language))
        text = visible_text(page)
        assert "lifetimes" not in text
        section = visible_text(page[page.index('id="backtest"') : page.index('id="validation"')])
        # means 710 (model) and 690 (last period's spend), spread 10 between folds; lower is better
        assert "710 ± 10" in section and "690 ± 10" in section and "-20 " in section + " "
        assert ".234" not in section and "710.2" not in section


def test_validation_says_which_scorer_is_in_production_in_words(cfg, table, summary):
    inputs = sample_report_inputs(table, summary)
    metrics = inputs.metrics.assign(in_production=[False, True])
    ecfg = dataclasses.replace(cfg.export, language="en")
    page = render(dataclasses.replace(inputs, metrics=metrics), None, ecfg)
    section = visible_text(page[page.index('id="validation"') : page.index('id="calibration"')])
    assert "Scores in production" in section and " Yes " in section and " No " in section
    assert "1.00" not in section and "0.00" not in section


def test_call_first_table_is_the_head_of_the_call_list(cfg, table, summary):
    from segml.reporting.call_list import call_list

    ecfg = dataclasses.replace(cfg.export, language="en")
    page = render(sample_report_inputs(table, summary), None, ecfg)
    section = page[page.index('id="at-risk"') : page.index('id="tiers"')]
    rows = re.findall(r"<tr><td>(\d+)</td><td[^>]*>([^<]+)</td>", section)
    expected = call_list(table, ecfg.call_list_customers).rows.head(15)
    assert [int(r) for r, _ in rows] == expected["rank"].tolist()
    assert [c for _, c in rows] == expected["customer_id"].tolist()
    at_risk = int((table["lifecycle_status"] == "at_risk").sum())
    assert f"({at_risk} of {at_risk} customers at risk)" in visible_text(section)


def test_each_team_table_counts_every_customer_once(cfg, table, summary):
    """Each table's heading says how many customers it counts, and its rows add up to that; a
    customer with no tier (no tier action) is counted by lifecycle only."""
    ecfg = dataclasses.replace(cfg.export, language="en")
    table = table.copy()
    table.loc[0, ["action_en", "action_zh", "action_team_en", "action_team_zh"]] = None
    page = render(sample_report_inputs(table, summary), None, ecfg)
    section = page[page.index('id="teams"') : page.index('id="movement"')]
    text = visible_text(section)
    assert f"By tier ({len(table) - 1} customers)" in text
    assert f"By lifecycle ({len(table)} customers)" in text
    for part, n in zip(section.split("<h3>")[1:], (len(table) - 1, len(table))):
        counts = re.findall(r"<td>(\d[\d,]*)</td><td>¥", part)
        assert sum(int(c.replace(",", "")) for c in counts) == n


def test_no_two_groups_share_a_name(cfg):
    """Lifecycle statuses, RFM segments and personas are different groups: each name is one group,
    in each language (the report once showed "Lost" with three counts)."""
    groups = {
        **{("lifecycle", k): v for k, v in cfg.tiering.lifecycle["labels"].items()},
        **{("rfm", seg["key"]): seg for seg in cfg.tiering.rfm["segments"]},
        **{("persona", k): v for k, v in cfg.segment.personas.items() if isinstance(v, dict)},
        **{("subscriber persona", k): v for k, v in cfg.segment.subscriber_personas.items()},
    }
    assert len(cfg.segment.subscriber_personas) >= cfg.segment.k_range[1]  # one per cluster
    for language in ("en", "zh"):
        names = {}
        for group, words in groups.items():
            names.setdefault(words[language], []).append(group)
        shared = {name: g for name, g in names.items() if len(g) > 1}
        assert not shared, (language, shared)


def test_axis_titles_in_both_languages_take_two_lines(cfg, table, summary):
    """One line of "中文 / English" ran past the decile chart's height and was clipped."""
    ecfg = dataclasses.replace(cfg.export, language="both")
    page = render(sample_report_inputs(table, summary), None, ecfg)
    page = page.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u002f", "/")
    assert "下期平均消费（¥）<br>Mean next-period spend (¥)" in page
    assert "覆盖的流失客户占比<br>Share of churners caught" in page
    assert "下期平均消费（¥） / Mean next-period spend (¥)" not in page


@pytest.mark.parametrize(
    "language, heading",
    [
        ("en", "Lifecycle: trial, new, active, won back, past due, at risk, lost, cancelled"),
        ("zh", "生命周期：试用中、新客户、活跃客户、挽回客户、欠费、流失预警、已流失、已取消"),
    ],
)
def test_the_lifecycle_heading_lists_the_statuses_its_table_holds(
    cfg, table, summary, language, heading
):
    """A table of subscribers and buyers holds trial, past due and won back too: the heading
    lists what the table holds (it listed four of them), and a buyers' table only its own."""
    from segml.reporting.business_view import lifecycle_heading
    from segml.reporting.text import Words

    w = Words(dataclasses.replace(cfg.export, language=language))
    statuses = ["trial", "new", "active", "won_back", "past_due", "at_risk", "lost", "cancelled"]
    mixed = table.assign(lifecycle_status=[statuses[i % 8] for i in range(len(table))])
    assert lifecycle_heading(mixed, w) == heading
    page = visible_text(render(sample_report_inputs(mixed, summary), None, w_cfg(cfg, language)))
    assert heading in page
    buyers = table.assign(
        lifecycle_status=["new", "active"] * (len(table) // 2) + ["new"] * (len(table) % 2)
    )
    said = lifecycle_heading(buyers, w)
    assert said in ("Lifecycle: new, active", "生命周期：新客户、活跃客户")
    assert lifecycle_heading(table.assign(lifecycle_status="never_bought"), w) in (
        "Lifecycle",
        "生命周期",
    )


def w_cfg(cfg, language):
    return dataclasses.replace(cfg.export, language=language)


def test_the_call_list_says_when_no_purchase_is_expected(cfg, table, summary):
    """An empty expected next purchase means none is expected within the churn window: the report's
    call list says so beside the last purchase (it showed the last date alone)."""
    from segml.reporting.business_view import at_risk_section
    from segml.reporting.text import Words

    at_risk = table["lifecycle_status"] == "at_risk"
    dated = table.assign(
        last_purchase_date="2025-10-01",
        expected_next_purchase_date=[None if i % 2 else "2026-01-20" for i in range(len(table))],
    )
    assert at_risk.sum() >= 2
    for language, head, none in (
        (
            "en",
            "Last purchase → next expected within the churn window",
            "2025-10-01 → none expected",
        ),
        ("zh", "最近购买 → 流失观察期内预计下次购买", "2025-10-01 → 预计不购买"),
    ):
        text = visible_text(at_risk_section(dated, Words(w_cfg(cfg, language))))
        assert head in text and none in text and "2025-10-01 → 2026-01-20" in text
