"""One HTML table from a frame, formatted for the report."""

from __future__ import annotations

import html

import pandas as pd

from segml.reporting.text import MISSING, is_missing


def html_table(frame: pd.DataFrame, formats: dict | None = None, wide: set | None = None) -> str:
    """An HTML table; `formats` maps a column to a formatter, text columns are escaped as they are."""
    formats = formats or {}
    wide = wide or set()
    text_head = '<th class="text">'
    head = "".join(
        (text_head if c not in formats else "<th>") + f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            shown = (
                formats[column](value)
                if column in formats
                else (MISSING if is_missing(value) else str(value))
            )
            cls = (
                ' class="wide"'
                if column in wide
                else (' class="text"' if column not in formats else "")
            )
            cells.append(f"<td{cls}>{html.escape(shown).replace(chr(10), '<br>')}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="t"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
