"""The exported table: the allow-list, one language, pseudonymous ids; the input never mutated."""

from __future__ import annotations

import dataclasses

import pytest

from segml.errors import ExportError
from segml.reporting.privacy import pseudonymize
from segml.reporting.table import export_table


def test_export_allow_list_language_and_salt(cfg, table):
    ecfg = dataclasses.replace(
        cfg.export,
        language="zh",
        columns=["customer_id", "tier", "action_zh", "action_en"],
        pseudonymize_ids=True,
    )
    out = export_table(table, ecfg, salt="pepper")
    assert list(out.columns) == [
        "customer_id",
        "tier",
        "action_zh",
    ]  # English dropped for a zh export
    assert out["customer_id"].tolist() == pseudonymize(table["customer_id"], "pepper").tolist()
    assert table["customer_id"].iloc[0] == "00000"  # the input is not mutated
    with pytest.raises(ExportError, match="SEGML_ID_SALT"):
        export_table(table, ecfg, salt=None)
    with pytest.raises(ExportError, match="nope"):
        export_table(table, dataclasses.replace(cfg.export, columns=["nope"]), None)
    with pytest.raises(ExportError, match=r"\['tier'\] more than once"):
        export_table(table, dataclasses.replace(cfg.export, columns=["tier", "tier"]), None)
