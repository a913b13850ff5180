"""The audit in business words, per kind: purchases say "bought again" and spend, subscribers
"still subscribed / 仍在订阅", cancellations and recurring revenue, in the report's audit section
and the workbook's audit sheet (from hand-made audited periods, tests/tiering/test_realized.py)."""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd
import pytest

from segml.reporting.audit_view import audit_section, summary_table
from segml.reporting.text import Words
from segml.reporting.workbook import SHEETS
from segml.tiering.audit import audit_period
from segml.tiering.audit_record import in_order
from tests.reporting.test_workbook import opened_workbook
from tests.tiering.test_audit import SEPTEMBER, _base
from tests.tiering.test_realized import both_period, subscriber_period

PURCHASE_WORDS = re.compile(r"bought again|buy again|spend|复购|消费", re.I)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


@pytest.fixture(scope="module")
def audit() -> dict:
    return {"periods": [subscriber_period()], "stability": [], "psi_warning": 0.25}


@pytest.mark.parametrize(
    "language, words",
    [
        (
            "en",
            [
                "Still subscribed: A",
                "would cancel",
                "Recurring revenue: forecast for the whole churn window → realized so far",
                "Cancelled",
            ],
        ),
        (
            "zh",
            [
                "仍在订阅：A",
                "取消订阅",
                "月费收入：整个流失观察期的预测",
                "已取消",
                "潜在客户（从未订阅）",
            ],
        ),
    ],
)
def test_the_report_says_still_subscribed_for_subscribers(cfg, audit, language, words):
    w = Words(dataclasses.replace(cfg.export, language=language))
    text = _text(audit_section(audit, {}, w))
    for word in words:
        assert word in text, (word, text[:400])
    assert not PURCHASE_WORDS.search(text), PURCHASE_WORDS.findall(text)
    assert "0.889" in text  # the churn ROC AUC on who really cancelled (8 of 9 pairs)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text)  # no status or key left as a code


def test_the_workbook_audit_sheet_says_still_subscribed(cfg, table, summary, audit):
    ecfg = dataclasses.replace(cfg.export, language="en")
    book = opened_workbook(cfg, table, summary, ecfg, audit=audit)
    cells = [
        str(v)
        for row in book.worksheets[SHEETS.index("audit")].iter_rows(values_only=True)
        for v in row
        if v is not None
    ]
    for word in (
        "Still subscribed",
        "Predicted recurring revenue (whole churn window)",
        "Realized recurring revenue (days observed so far)",
        "Churn checked on (subscribers running then)",
    ):
        assert word in cells, word
    assert not any(PURCHASE_WORDS.search(c) for c in cells), [
        c for c in cells if PURCHASE_WORDS.search(c)
    ]


def test_purchases_still_say_bought_again(cfg):
    realized = pd.DataFrame(
        {"customer_id": ["1", "3"], "repurchased": [True, False], "revenue": [40.0, -5.0]}
    )
    period = audit_period(
        _base(), realized, SEPTEMBER, "2025-12-31", 90, 365, ["A", "B", "C"], [0, 1]
    )
    w = Words(dataclasses.replace(cfg.export, language="en"))
    text = _text(audit_section({"periods": [period]}, {}, w))
    assert "Bought again: A" in text and "would not buy" in text
    assert "Spend: forecast for the whole churn window → realized so far" in text
    assert "subscri" not in text.lower()


def _audit_cells(cfg, table, summary, audit, language: str) -> list[str]:
    ecfg = dataclasses.replace(cfg.export, language=language)
    book = opened_workbook(cfg, table, summary, ecfg, audit=audit)
    return [
        str(v)
        for row in book.worksheets[SHEETS.index("audit")].iter_rows(values_only=True)
        for v in row
        if v is not None
    ]


@pytest.mark.parametrize(
    "language, words",
    [
        (
            "en",
            ["Stayed (still subscribed or bought again)", "Predicted value (recurring revenue "
             "and spend; whole churn window)", "Realized value (recurring revenue and spend; days "
             "observed so far)"],
        ),
        ("zh", ["留存（仍在订阅或再次购买）", "预测价值（月费与消费；整个流失观察期）",
                "实际价值（月费与消费；已观察天数内）"]),
        (  # the default: both languages in one header
            "both",
            ["留存（仍在订阅或再次购买） Stayed (still subscribed or bought again)",
             "预测价值（月费与消费；整个流失观察期） Predicted value (recurring revenue and spend; "
             "whole churn window)",
             "实际价值（月费与消费；已观察天数内） Realized value (recurring revenue and spend; days "
             "observed so far)"],
        ),
    ],
)  # fmt: skip
def test_the_workbook_audit_sheet_of_a_both_project_names_its_totals(
    cfg, table, summary, language, words
):
    """A both project's totals are recurring revenue plus purchase spend: never named as
    recurring revenue alone; the share who stayed reads as a percentage."""
    audit = {"periods": [both_period()], "stability": [], "psi_warning": 0.25}
    cells = _audit_cells(cfg, table, summary, audit, language)
    for word in words:
        assert word in cells, (word, cells[:30])
    said = (
        "Predicted recurring revenue",
        "Realized recurring revenue",
        "预测月费收入",
        "实际月费收入",
    )
    assert not [c for c in cells if any(s in c for s in said)]
    assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c)]  # no key as a header
    sheet = opened_workbook(
        cfg, table, summary, dataclasses.replace(cfg.export, language=language), audit=audit
    ).worksheets[SHEETS.index("audit")]
    header = [c.value for c in sheet[1]]
    stayed = sheet.cell(row=2, column=header.index(words[0]) + 1)
    assert stayed.value == 0.5 and "%" in stayed.number_format  # a share, not a long float


@pytest.mark.parametrize(
    "language, subscribers, buyers, spend",
    [
        (
            "en",
            "Subscribers (cancels subscription): 50.0% still subscribed (6 customers); "
            "churn ROC AUC 0.889",
            "Buyers (stops buying): 50.0% bought again (2 customers); churn ROC AUC 1.000",
            # 10 + 40 predicted for the whole window; loyal's 30 in the 46 days since
            "spend predicted ¥50 for 90 days → realized ¥30 in 46 days",
        ),
        (
            "zh",
            "订阅客户（退订）：50.0%仍在订阅（6位客户）；流失ROC AUC 0.889",
            "购买客户（停止购买）：50.0%再次购买（2位客户）；流失ROC AUC 1.000",
            "消费90天预测¥50 → 46天实际¥30",
        ),
        (  # the default: Chinese, then English on the next line of the same cell
            "both",
            "订阅客户（退订）：50.0%仍在订阅（6位客户）；流失ROC AUC 0.889",
            "购买客户（停止购买）：50.0%再次购买（2位客户）；流失ROC AUC 1.000",
            "消费90天预测¥50 → 46天实际¥30",
        ),
    ],
)
def test_a_both_projects_audit_shows_each_churn_kind_in_words(
    cfg, table, summary, language, subscribers, buyers, spend
):
    """by_churn_kind (each part's share who stayed, churn AUC, totals) reaches business users: a
    line per churn kind in the report's audit section and a row per kind in the audit sheet."""
    period = both_period()
    audit = {"periods": [period], "stability": [], "psi_warning": 0.25}
    w = Words(dataclasses.replace(cfg.export, language=language))
    text = " ".join(_text(audit_section(audit, {}, w)).split())
    cells = _audit_cells(cfg, table, summary, audit, language)
    for line in (subscribers, buyers):
        assert line in text, (line, text[-900:])
        assert any(c.startswith(line) for c in cells), (line, cells[-12:])
    assert spend in text and any(spend in c for c in cells)
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", text)  # no churn kind left as a code
    assert not [c for c in cells if re.search(r"\b(cancels|stops)_[a-z]+\b", c)]
    assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z0-9]+)+", c)]  # no key as a title
    assert not [c for c in cells if re.search(r"\d\.\d{4,}", c)]  # no long floats in words


def test_one_kinds_audit_has_no_churn_kind_lines(cfg, audit):
    w = Words(dataclasses.replace(cfg.export, language="en"))
    text = _text(audit_section(audit, {}, w))
    assert "Each part on its own" not in text and "Subscribers (cancels" not in text


def test_the_days_observed_read_in_each_language_without_a_bare_fraction(cfg, audit):
    """Both languages side by side used to read "31 / 90 / 31 of 90": each says days now."""
    elapsed, horizon = audit["periods"][0]["elapsed_days"], audit["periods"][0]["horizon_days"]
    said = _text(audit_section(audit, {}, Words(dataclasses.replace(cfg.export, language="both"))))
    assert f"{elapsed}天（共{horizon}天） / {elapsed} of {horizon} days" in said, said[:600]
    assert f"{elapsed} / {horizon} / {elapsed} of {horizon}" not in said


def _purchase_period() -> dict:
    """September's grades of `_base` (six graded customers, five who bought in the year before)
    measured over its whole 90 days."""
    realized = pd.DataFrame(
        {
            "customer_id": ["1", "2", "3", "5", "P1"],
            "repurchased": [True, True, False, True, True],
            "revenue": [400.0, 100.0, -10.0, 50.0, 30.0],
        }
    )
    return audit_period(
        _base(), realized, SEPTEMBER, "2025-12-31", 90, 365, ["A", "B", "C"], [0, 0.5, 1]
    )


def test_the_report_says_which_customers_and_days_each_audit_figure_counts(cfg):
    """ "Bought again" and the totals count all six graded customers, churn the five who bought in
    the 365 days before; the forecast's 90 days stand beside the days observed."""
    period = {**_purchase_period(), "elapsed_days": 31, "complete": False}
    w = Words(dataclasses.replace(cfg.export, language="en"))
    table = summary_table([period], {}, w)
    row = table.iloc[0]
    assert row["Customers graded"] == "6" and row["Churn checked on"] == "5"
    assert row["Spend: forecast for the whole churn window → realized so far"] == (
        "¥635 for 90 days → ¥550 in 31 days"
    )
    text = _text(audit_section({"periods": [period]}, {}, w))
    assert "count every customer the period graded" in text
    assert "those who bought in the 365 days before the period" in text
    assert "Future value of the 6 customers graded: predicted ¥635 for the 90 days" in text
    assert "(5 customers who bought in the 365 days before)" in text
    zh = Words(dataclasses.replace(cfg.export, language="zh"))
    assert summary_table([period], {}, zh).iloc[0]["消费：整个流失观察期的预测 → 至今实际"] == (
        "90天预测¥635 → 31天实际¥550"
    )


def test_the_workbook_audit_line_names_who_each_figure_counts(cfg, table, summary):
    audit = {"periods": [_purchase_period()], "stability": [], "psi_warning": 0.25}
    sheet = opened_workbook(
        cfg, table, summary, dataclasses.replace(cfg.export, language="en"), audit=audit
    ).worksheets[SHEETS.index("audit")]
    line = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]]))
    assert line["Customers graded (rates and totals count all of them)"] == 6
    assert line["Churn checked on (customers who bought in the year before)"] == 5
    assert line["Predicted spend (whole churn window)"] == 635
    assert line["Realized spend (days observed so far)"] == 550
    assert "Predicted churn (within the whole churn window)" in line
    assert "Realized churn (in the days observed so far)" in line


def test_the_audits_groups_read_in_order_after_the_json_round_trip(cfg):
    """audit.json is written with sorted keys: a pyramid's tiers and the lifecycle still read
    best first and in the lifecycle's order."""
    base = _base().assign(
        tier=["platinum", "gold", "iron", "lead", "lead", "lead", None],
    )
    realized = pd.DataFrame({"customer_id": ["1"], "repurchased": [True], "revenue": [10.0]})
    period = audit_period(
        base,
        realized,
        SEPTEMBER,
        "2025-12-31",
        90,
        365,
        ["platinum", "gold", "iron", "lead"],
        [0, 1],
    )
    stored = json.loads(json.dumps(period, sort_keys=True))
    assert list(stored["by_tier"]) == ["gold", "iron", "lead", "platinum"]  # as written
    assert list(in_order(stored, "by_tier")) == ["platinum", "gold", "iron", "lead"]
    assert list(in_order(stored, "by_lifecycle")) == ["active", "at_risk", "lost", "never_bought"]
    w = Words(dataclasses.replace(cfg.export, language="en"))
    header = list(summary_table([stored], {}, w).columns)
    rates = [c for c in header if c.startswith("Bought again: ")]
    assert rates == [f"Bought again: {w.name(t)}" for t in ("platinum", "gold", "iron", "lead")]
