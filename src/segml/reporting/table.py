"""The exported table: the tier table as it is shared, in the export language, cut to the
allowed columns (`export.columns`), with pseudonymous ids when `export.pseudonymize_ids` is on."""

from __future__ import annotations

import pandas as pd

from segml.config import ExportConfig
from segml.data import schema as s
from segml.errors import ExportError
from segml.reporting.privacy import pseudonymize

LANGUAGE_SUFFIX = {"en": "_zh", "zh": "_en"}  # columns dropped for a single-language export


def one_language(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """Without the other language's `_zh`/`_en` columns when the export has one language."""
    if language in LANGUAGE_SUFFIX:
        return frame[[c for c in frame.columns if not c.endswith(LANGUAGE_SUFFIX[language])]]
    return frame


def export_table(table: pd.DataFrame, cfg: ExportConfig, salt: str | None) -> pd.DataFrame:
    """Apply language, column allow-list and pseudonymisation. Never mutates `table`."""
    out = one_language(table, cfg.language)
    if cfg.columns:
        twice = sorted({c for c in cfg.columns if cfg.columns.count(c) > 1})
        if twice:
            raise ExportError(f"export.columns lists {twice} more than once: list each column once")
        unknown = [c for c in cfg.columns if c not in table.columns]
        if unknown:
            raise ExportError(
                f"export.columns lists unknown columns {unknown}; available: {list(table.columns)}"
            )
        out = out[[c for c in cfg.columns if c in out.columns]]
    out = out.copy(deep=False)  # copy-on-write: only the columns changed below are copied
    if cfg.pseudonymize_ids and s.CUSTOMER_ID in out:
        if not salt:
            raise ExportError(
                f"export.pseudonymize_ids is on but the environment variable {cfg.salt_env} "
                "is empty: set it to a secret salt (it is never logged)."
            )
        out[s.CUSTOMER_ID] = pseudonymize(out[s.CUSTOMER_ID], salt)
    return out
