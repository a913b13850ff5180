"""The export stage assembled: the report and the workbook built together, and the report shows
only pseudonyms when the table does."""

from __future__ import annotations

import dataclasses
import re

from segml.reporting.exports import build_exports
from segml.reporting.privacy import pseudonymize
from tests.reporting.conftest import sample_report_inputs, visible_text


def test_build_exports_writes_report_and_workbook(cfg, table, summary):
    exports = build_exports(
        sample_report_inputs(table, summary),
        cfg.tiering.actions,
        ["low", "mid", "high"],
        cfg.export,
        None,
        cfg.tiering.teams,
    )
    assert exports.report.startswith("<!DOCTYPE html>") and exports.workbook[:2] == b"PK"


def test_report_shows_only_pseudonyms_when_asked(cfg, table, summary):
    ecfg = dataclasses.replace(cfg.export, pseudonymize_ids=True, columns=["tier"])
    exports = build_exports(
        sample_report_inputs(table, summary),
        cfg.tiering.actions,
        ["low", "mid", "high"],
        ecfg,
        "pepper",
    )
    text = visible_text(exports.report)
    assert not any(re.search(rf"\b{cid}\b", text) for cid in table["customer_id"])
    at_risk = table["lifecycle_status"] == "at_risk"
    assert any(p in text for p in pseudonymize(table.loc[at_risk, "customer_id"], "pepper"))
