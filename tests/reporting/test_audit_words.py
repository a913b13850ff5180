"""The audit in business words, per kind: purchases say "bought again" and spend, subscribers
"still subscribed / 仍在订阅", cancellations and recurring revenue, in the report's audit section
and the workbook's audit sheet (from hand-made audited periods, tests/tiering/test_realized.py)."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from segml.reporting.audit_view import audit_section
from segml.reporting.text import Words
from segml.reporting.workbook import SHEETS
from segml.tiering.audit import audit_period
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
            ["Still subscribed: A", "would cancel", "Recurring revenue: predicted", "Cancelled"],
        ),
        ("zh", ["仍在订阅：A", "取消订阅", "月费收入：预测", "已取消", "潜在客户（从未订阅）"]),
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
    for word in ("Still subscribed", "Predicted recurring revenue", "Realized recurring revenue"):
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
    assert "Bought again: A" in text and "Spend: predicted" in text and "would not buy" in text
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
             "and spend)", "Realized value (recurring revenue and spend)"],
        ),
        ("zh", ["留存（仍在订阅或再次购买）", "预测价值（月费与消费）", "实际价值（月费与消费）"]),
        (  # the default: both languages in one header
            "both",
            ["留存（仍在订阅或再次购买） Stayed (still subscribed or bought again)",
             "预测价值（月费与消费） Predicted value (recurring revenue and spend)",
             "实际价值（月费与消费） Realized value (recurring revenue and spend)"],
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
            "spend predicted ¥50 → realized ¥30",  # 10 + 40 predicted; loyal's 30 since
        ),
        (
            "zh",
            "订阅客户（退订）：50.0%仍在订阅（6位客户）；流失ROC AUC 0.889",
            "购买客户（停止购买）：50.0%再次购买（2位客户）；流失ROC AUC 1.000",
            "消费预测¥50 → 实际¥30",
        ),
        (  # the default: Chinese, then English on the next line of the same cell
            "both",
            "订阅客户（退订）：50.0%仍在订阅（6位客户）；流失ROC AUC 0.889",
            "购买客户（停止购买）：50.0%再次购买（2位客户）；流失ROC AUC 1.000",
            "消费预测¥50 → 实际¥30",
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
