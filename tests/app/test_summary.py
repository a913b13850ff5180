"""The summary `segml run` prints, in plain words: scorer names from `export.headers`, measures
with plain labels and units, no column or scorer codes, within 80 columns and nothing cut
short (a long header wraps)."""

from __future__ import annotations

import dataclasses
import io

import pandas as pd
from rich.console import Console

from segml.app import summary
from segml.reporting.text import Words

SPREAD = {"roc_auc": 0.004}


def render(table) -> str:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(table)
    return out.getvalue()


def test_the_summary_tables_use_plain_words_and_fit_80_columns(cfg):
    w = Words(dataclasses.replace(cfg.export, language="en"))
    churn = {
        "model": {"roc_auc": 0.9071, "pr_auc": 0.8, "brier": 0.11, "lift_top10": 2.345},
        "baseline_recency": {"roc_auc": 0.9, "pr_auc": 0.7, "brier": 0.2, "lift_top10": 2.0},
        "baseline_bgnbd": {"roc_auc": 0.88, "pr_auc": 0.7, "brier": 0.2, "lift_top10": 1.9},
        "spread": {s: SPREAD for s in ("model", "baseline_recency", "baseline_bgnbd")},
        "summary": {"folds": 3},
        "production": {"scorer": "model"},
    }
    upside = {
        "model": {"normalized_gini": 0.61, "spearman": 0.5, "top20_capture": 0.4567},
        "baseline_bgnbd": {"normalized_gini": 0.58, "spearman": 0.4, "top20_capture": 0.4},
        "spread": {s: {"normalized_gini": 0.01} for s in ("model", "baseline_bgnbd")},
        "summary": {"folds": 3},
        "production": {"scorer": "baseline_bgnbd"},
    }
    tiers = pd.DataFrame(
        {
            "tier": ["A", "B"],
            "customers": [1200, 3400],
            "customer_share": [0.26, 0.74],
            "value_share": [0.8, 0.2],
            "mean_churn_probability": [0.1, 0.5],
        }
    )
    text = "".join(
        render(t)
        for t in (
            summary.tier_table(cfg, tiers, w),
            summary.model_table("churn", churn, w),
            summary.model_table("upside", upside, w),
        )
    )
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text, text  # no name, header or number cut short
    assert "ROC AUC" in text and "Lift top 10%" in text and "2.35×" in text, text
    assert "0.907 ± 0.004" in text and "45.7%" in text and "1,200" in text, text
    assert "Rule: days since last purchase" in text and "BG/NBD x Gamma-Gamma (in" in text, text
    for code in ("baseline_", "roc_auc", "gini ", "customer_share", "value_share", "mean_churn"):
        assert code not in text, (code, text)


def test_a_both_projects_audit_line_has_a_line_per_churn_kind(cfg, tmp_path, monkeypatch):
    """The terminal's audit line of a both project, then each churn kind's share who stayed and
    churn AUC (audit_details' by_churn_kind) in words."""
    from segml.app import console as console_module
    from segml.data.catalog import Catalog
    from tests.tiering.test_realized import both_period

    catalog = Catalog(
        {"tier_metrics": tmp_path / "tiers.json", "audit_metrics": tmp_path / "audit.json"}
    ).in_memory()
    catalog.write("tier_metrics", {})
    catalog.write("audit_metrics", {"periods": [both_period()], "stability": []})
    out = io.StringIO()
    monkeypatch.setattr(console_module.console, "file", out)
    summary.print_periods(catalog, Words(dataclasses.replace(cfg.export, language="en")))
    said = " ".join(out.getvalue().split())
    assert "audit of 2025-09-30 (46 of 90 days, partly): stayed" in said
    assert (
        "Subscribers (cancels subscription): 50.0% still subscribed (6 customers); churn ROC AUC 0.889"
        in said
    )
    assert "Buyers (stops buying): 50.0% bought again (2 customers); churn ROC AUC 1.000" in said


def test_the_audit_line_says_who_each_figure_counts_and_the_days(cfg, tmp_path, monkeypatch):
    """ "Bought again" counts every graded customer, churn those who bought in the year before; the
    spend forecast for the whole window stands beside the days observed."""
    from segml.app import console as console_module
    from segml.data.catalog import Catalog
    from tests.reporting.test_audit_words import _purchase_period

    catalog = Catalog(
        {"tier_metrics": tmp_path / "tiers.json", "audit_metrics": tmp_path / "audit.json"}
    ).in_memory()
    catalog.write("tier_metrics", {})
    period = {**_purchase_period(), "elapsed_days": 31, "complete": False}
    stability = [{"drift": ["predicted_value"]}]
    catalog.write("audit_metrics", {"periods": [period], "stability": stability})
    out = io.StringIO()
    monkeypatch.setattr(console_module.console, "file", out)
    w = Words(dataclasses.replace(cfg.export, language="en"))
    summary.print_periods(catalog, w)
    said = " ".join(out.getvalue().split())
    assert f"drift since the previous period: {w.name('predicted_value')}" in said
    assert "predicted_value" not in said  # a column named in words
    assert "audit of 2025-09-30 (31 of 90 days, partly): bought again A 100%, B 0%, C 33% " in said
    assert (
        "(of all 6 graded); churn ROC AUC 0.667 (on the 5 customers who bought in the 365 " in said
    )
    assert "days before); spend forecast ¥635 for 90 days → ¥550 in 31 days" in said


def test_subscribers_terminal_says_fees_as_their_report_does(cfg, monkeypatch):
    """A subscription project's summary names the value baseline, the top-20 measure, the forecast
    and its ranges in fees, as the report and workbook do; a drifting column is named in words."""
    from segml.app import console as console_module

    sub_cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, kind="subscriptions"))
    w = summary.terminal_words(sub_cfg)
    upside = {
        "model": {"normalized_gini": 0.94, "spearman": 0.93, "top20_capture": 0.45},
        "baseline_last_period": {"normalized_gini": 0.87, "spearman": 0.86, "top20_capture": 0.4},
        "spread": {s: {"normalized_gini": 0.01} for s in ("model", "baseline_last_period")},
        "summary": {"folds": 3},
        "production": {"scorer": "model"},
        "forecast": {
            "factor": 0.99,
            "applied": True,
            "within_10_percent": True,
            "total_error_en": "in the backtest the forecast total was 1 % high",
            "level": 0.8,
            "folds": {"fold_1": {"coverage": 0.85}},
        },
    }
    text = " ".join(render(summary.model_table("upside", upside, w)).split())
    assert "Rule: last period's fees" in text and "fees share" in text, text
    assert "spend" not in text, text
    out = io.StringIO()
    monkeypatch.setattr(console_module.console, "file", out)
    tier_metrics = {"forecast_total": 281020.0, "forecast_customers": 919}
    summary.report_forecast(tier_metrics, {}, upside, 90, w.recurring)
    said = " ".join(out.getvalue().split())
    assert "¥281,020 in fees from 919 subscribers" in said
    assert "held what 85% of subscribers were really billed" in said
    assert "spen" not in said.replace("forecast total", ""), said
    # purchases keep their words
    purchase = summary.terminal_words(cfg)
    assert not purchase.recurring and purchase.name("baseline_last_period") != w.name(
        "baseline_last_period"
    )
