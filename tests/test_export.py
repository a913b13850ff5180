"""What business users receive: workbook sheets and headers, report sections, minimal personal data."""

from __future__ import annotations

import dataclasses
import io
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest

from segml.export import ExportError, build_exports, export_table, pseudonymize, workbook
from segml.report import SECTIONS, ReportInputs, render


@pytest.fixture()
def table():
    n = 30
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "customer_id": [f"{i:05d}" for i in range(n)], "as_of": "2025-12-31", "tier": rng.choice(list("ABC"), n),
        "value_level": rng.choice(["low", "mid", "high"], n), "potential_level": rng.choice(["low", "mid", "high"], n),
        "current_value": rng.gamma(2, 500, n), "predicted_value": rng.gamma(2, 200, n),
        "churn_probability": rng.random(n), "action_en": "call", "action_zh": "回访",
        "churn_reasons_en": "no purchase", "churn_reasons_zh": "未购买",
    })


@pytest.fixture()
def summary():
    return pd.DataFrame({"tier": ["A", "B", "C"], "customers": [5, 10, 15], "customer_share": [1 / 6, 1 / 3, 1 / 2],
                         "value_share": [0.8, 0.15, 0.05], "mean_churn_probability": [0.1, 0.3, 0.7]})


def test_pseudonyms_are_stable_per_salt_and_differ_across_salts():
    ids = pd.Series(["001", "002", "001"])
    first, again, other = pseudonymize(ids, "s1"), pseudonymize(ids, "s1"), pseudonymize(ids, "s2")
    assert first.tolist() == again.tolist() and first[0] == first[2] and first[0] != first[1]
    assert not set(first) & set(other)
    assert all(re.fullmatch("[0-9a-f]{16}", v) for v in first)


def test_export_allow_list_language_and_salt(cfg, table):
    ecfg = dataclasses.replace(cfg.export, language="zh", columns=["customer_id", "tier", "action_zh", "action_en"],
                               pseudonymize_ids=True)
    out = export_table(table, ecfg, salt="pepper")
    assert list(out.columns) == ["customer_id", "tier", "action_zh"]  # English dropped for a zh export
    assert out["customer_id"].tolist() == pseudonymize(table["customer_id"], "pepper").tolist()
    assert table["customer_id"].iloc[0] == "00000"  # the input is not mutated
    with pytest.raises(ExportError, match="SEGML_ID_SALT"):
        export_table(table, ecfg, salt=None)
    with pytest.raises(ExportError, match="nope"):
        export_table(table, dataclasses.replace(cfg.export, columns=["nope"]), None)


@pytest.mark.parametrize("language, header", [("zh", "客户等级"), ("en", "Tier"), ("both", "客户等级 Tier")])
def test_workbook_sheets_and_localised_headers(cfg, table, summary, language, header):
    ecfg = dataclasses.replace(cfg.export, language=language)
    book = openpyxl.load_workbook(io.BytesIO(workbook(export_table(table, ecfg, None), summary, {"available": False},
                                                      pd.DataFrame({"target": ["churn"]}), cfg.tiering.actions, ecfg)))
    assert book.sheetnames == ["summary", "tiers", "movement", "actions"]
    sheet = book["tiers"]
    headers = [c.value for c in sheet[1]]
    assert header in headers
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    churn_col = headers.index({"zh": "流失概率", "en": "Churn probability", "both": "流失概率 Churn probability"}[language]) + 1
    assert sheet.cell(row=2, column=churn_col).number_format == "0.0%"
    actions = [c.value for c in book["actions"]["D"]][1:]
    assert any(isinstance(v, str) and v for v in actions)


def test_report_has_every_section_and_no_external_links(cfg, table, summary):
    movement = {"available": True, "kept_share": 0.9, "matrix": pd.DataFrame({"previous": ["A"], "A": [1]}),
                "upgrades": table.head(2), "downgrades": table.head(1)}
    plots = {"calibration": pd.DataFrame({"mean_predicted": [0.2, 0.8], "observed_rate": [0.25, 0.7]}),
             "lift": pd.DataFrame({"scorer": ["model", "model"], "share_contacted": [0.5, 1.0],
                                   "share_churners_caught": [0.7, 1.0]}),
             "deciles": pd.DataFrame({"decile": [1, 2], "mean_predicted": [5.0, 1.0], "mean_actual": [4.0, 2.0]})}
    inputs = ReportInputs(
        table=table, summary=summary, movement=movement, metrics=pd.DataFrame({"target": ["churn"], "roc_auc": [0.9]}),
        grades={"churn": {"grade": "C", "beats_baseline": False, "best_baseline": "baseline_recency",
                          "margin_over_best_baseline": -0.01}},
        profile=pd.DataFrame({"persona_en": ["Champions"], "customers": [30]}), plots=plots,
        importance=pd.DataFrame({"model": ["churn"], "feature": ["recency_days"], "gain": [1.0]}),
        quality={"rows_read": 10, "rejected_by_reason": {"duplicate": 1}}, as_of="2025-12-31", primary="abc")
    html = render(inputs, ["low", "mid", "high"])
    for key, title in SECTIONS.items():
        assert f'id="{key}"' in html and title.split()[0] in html
    assert html.count("data:image/png;base64,") >= 6
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # opens offline
    assert "does NOT beat its best baseline" in html
    exports = build_exports(inputs, cfg.tiering.actions, ["low", "mid", "high"], cfg.export, None)
    assert exports.report == html and exports.workbook[:2] == b"PK"
