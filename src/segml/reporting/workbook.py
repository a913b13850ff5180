"""The workbook writer: an Excel file for the people who act on it.

Sheets in a fixed order (`SHEETS`): the call list first, then the summary and the customers; a
sheet with nothing this run says so in one line, so the order never changes. Everything reads as
words in the export language: headers and codes (statuses, bands, levels, strategies, scorers)
from `export.headers`, yes/no as words, money in `export.money_format`; reasons and actions wrap.
Pages print landscape on A4 with the header row repeated: a sheet that fits one page wide at a
readable scale (at least `MIN_PRINT_SCALE` %) is fitted to it, a wider one prints at that scale
across pages with the customer column repeated. The same data gives the same bytes (a fixed
document date).
"""

from __future__ import annotations

import datetime
import io as _bytes_io
import re

import pandas as pd
import xlsxwriter

from segml.config import ExportConfig
from segml.data import schema as s
from segml.reporting.call_list import CallList, call_list, recurring, value_words
from segml.reporting.sheet_view import (
    both_languages,
    cell_values,
    customer_sheet,
    display_width,
    for_people,
    label,
    number_format,
    sheet_name,
    text_lines,
    tier_words,
    word,
    wrap_width,
)
from segml.reporting.table import one_language
from segml.reporting.text import Words
from segml.reporting.workbook_sheets import (
    LIFECYCLE_ORDER,
    actions_table,
    audit_sheet,
    breakdown,
    breakdown_sheets,
    given_blocks,
    movement_sheet,
    one_note,
    quality_blocks,
    with_content,
)

# sheet keys in workbook order; their names come from `export.headers` (`sheet_<key>`)
SHEETS = (
    "call_list",
    "summary",
    "customers",
    "movement",
    "audit",
    "forecast",
    "lifecycle",
    "rfm",
    "actions",
)
# subscribers' workbook: the contract x tenure churn table where purchases' RFM segments are
SUBSCRIBER_SHEETS = tuple("contract_tenure" if key == "rfm" else key for key in SHEETS)
# Document date when the table has no as_of: a fixed date keeps the bytes identical between runs.
FIXED_DATE = "2000-01-01"
HEADER_FILL = "#DDEBF7"
# Printing: A4 landscape is about 148 character cells wide at 100 % (narrow margins).
PAGE_WIDTH = 148
MIN_PRINT_SCALE = 75
HEADER_WIDTH = 10  # a header wider than this wraps, rather than widening its column
LINE_HEIGHT = 15  # points per line of text


class _Book:
    """The workbook, written block by block with xlsxwriter (several times faster than openpyxl
    at ten thousand rows): formats made once, each sheet's column widths kept until the end.
    Text is written as text, never as a formula or a link, whatever it starts with."""

    def __init__(self, cfg: ExportConfig):
        self.buffer = _bytes_io.BytesIO()
        self.book = xlsxwriter.Workbook(
            self.buffer,
            {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
        )
        self.cfg = cfg
        # key -> [worksheet, {column: width}, (header row, columns kept in view) of its main table]
        self.sheets: dict[str, list] = {}
        self.header = self.book.add_format(
            {"bold": True, "bg_color": HEADER_FILL, "text_wrap": True, "valign": "top"}
        )
        self.title = self.book.add_format({"bold": True, "font_size": 12})
        self.wide_title = self.book.add_format(
            {"bold": True, "font_size": 12, "text_wrap": True, "valign": "top"}
        )
        self.formats: dict[tuple, object] = {}

    def _format(self, number: str | None, wrap: bool):
        key = (number, wrap)
        if key not in self.formats:
            spec = {"valign": "top"}
            if number:
                spec["num_format"] = number
            if wrap:
                spec["text_wrap"] = True
            self.formats[key] = self.book.add_format(spec)
        return self.formats[key]

    def sheet(self, key: str) -> list:
        if key not in self.sheets:
            self.sheets[key] = [self.book.add_worksheet(sheet_name(key, self.cfg)), {}, None]
        return self.sheets[key]

    def block(
        self, frame: pd.DataFrame, key: str, start_row: int = 0, title=None, main: bool = False
    ) -> int:
        """A formatted block (`frame` as people read it): bold header, number formats, widths;
        the `main` block of a sheet also gets a frozen header and customer column, a filter and
        its header row repeated on every printed page. Returns the row for the next block."""
        entry = self.sheet(key)
        sheet, widths = entry[0], entry[1]
        title_row = start_row if title else None
        if title:
            start_row += 1
        lines = [1] * (len(frame) + 1)  # text lines per row (the header's first), for its height
        for j, column in enumerate(frame.columns):
            head = label(column, self.cfg)
            sheet.write_string(start_row, j, head, self.header)
            wrap = wrap_width(str(column))
            fmt = self._format(number_format(column, frame[column], self.cfg), bool(wrap))
            cells = cell_values(frame[column])
            for i, value in enumerate(cells, start=start_row + 1):
                sheet.write(i, j, value, fmt)
            sample = [
                max(
                    display_width(part)
                    for part in (f"{v:,.2f}" if isinstance(v, float) else str(v)).split("\n")
                )
                for v in frame[column].head(200)
            ]
            width = wrap or min(max(8, max([0, *sample]) + 2), 40)
            width = max(width, min(display_width(head) + 2, HEADER_WIDTH))
            widths[j] = max(widths.get(j, 0), width)
            lines[0] = max(lines[0], text_lines(head, width))
            if wrap:
                for i, value in enumerate(cells, start=1):
                    lines[i] = max(lines[i], text_lines(value, width))
        for i, n in enumerate(lines):
            if n > 1:  # Excel and LibreOffice keep a row one line high unless told
                sheet.set_row(start_row + i, n * LINE_HEIGHT)
        if title_row is not None:
            self._title(sheet, title_row, title, [widths[j] for j in range(len(frame.columns))])
        if main:
            # the rank and customer columns stay in view (and print on every page)
            first = list(frame.columns[:2])
            ids = first.index(s.CUSTOMER_ID) + 1 if s.CUSTOMER_ID in first else 0
            entry[2] = (start_row, ids)
            sheet.freeze_panes(start_row + 1, ids)
            sheet.autofilter(start_row, 0, start_row + len(frame), max(len(frame.columns), 1) - 1)
        return start_row + len(frame) + 3

    def _title(self, sheet, row: int, title: str, widths: list[float]) -> None:
        """A title over the block: wrapped across its columns when it is longer than they are
        wide (text running past the table would make a page fitted to it print smaller)."""
        span = sum(widths)
        if len(widths) < 2 or display_width(title) <= span:
            sheet.write_string(row, 0, title, self.title)
            return
        sheet.merge_range(row, 0, row, len(widths) - 1, title, self.wide_title)
        sheet.set_row(row, text_lines(title, int(span)) * LINE_HEIGHT * 1.1)

    def note(self, key: str, text: str, start_row: int = 0) -> int:
        """One line of text (a sheet with nothing this run says so)."""
        sheet, widths = self.sheet(key)[:2]
        sheet.write_string(start_row, 0, text)
        widths[0] = max(widths.get(0, 0), 12)
        return start_row + 2

    def close(self, title: str, date: str) -> bytes:
        """The workbook's bytes; the document date is `date`, so the same data gives the same bytes
        (xlsxwriter's zip entries carry a fixed time)."""
        for sheet, widths, header in self.sheets.values():
            for j, width in widths.items():
                sheet.set_column(j, j, width)
            _print_setup(sheet, sum(widths.values()), header)
        created = datetime.datetime.fromisoformat(date)
        self.book.set_properties({"title": title, "author": "segml", "created": created})
        self.book.close()
        return self.buffer.getvalue()


def _print_setup(sheet, width: float, header: tuple[int, int] | None) -> None:
    """A4 landscape, narrow margins, page numbers; one page wide if that keeps the scale readable,
    else readable across pages with the first column repeated; the header row on every page."""
    sheet.set_landscape()
    sheet.set_paper(9)
    sheet.set_margins(left=0.4, right=0.4, top=0.5, bottom=0.6)
    sheet.set_footer("&C&P / &N")
    if 100 * PAGE_WIDTH / max(width, 1) >= MIN_PRINT_SCALE:
        sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as needed
    else:
        sheet.set_print_scale(MIN_PRINT_SCALE)
        sheet.repeat_columns(0, max(header[1] - 1, 0) if header else 0)
    if header is not None:
        sheet.repeat_rows(header[0])


def _document_date(table: pd.DataFrame) -> str:
    if (
        "as_of" in table
        and len(table)
        and re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(table["as_of"].iloc[0]))
    ):
        return str(table["as_of"].iloc[0])
    return FIXED_DATE


def sheet_customers(table: pd.DataFrame, cfg: ExportConfig) -> tuple[pd.DataFrame, str | None]:
    """The customers sheet's rows: everyone, or the `export.workbook_customers` with the highest
    current value (ties by id) and a note saying so. People read a workbook; systems read the CSV."""
    limit = cfg.workbook_customers
    if not limit or len(table) <= limit:
        return table, None
    order = [c for c in ("current_value", s.CUSTOMER_ID) if c in table]
    ranked = (  # sort the keys alone, then take the rows: a million rows of 50 columns sort slowly
        table[order]
        .reset_index(drop=True)
        .sort_values(
            order,
            ascending=[c != "current_value" for c in order],
            kind="stable",
            na_position="last",
        )
    )
    shown = table.iloc[ranked.index[:limit]]
    text = label("workbook_rows_note", cfg).format(
        sheet=sheet_name("customers", cfg), shown=f"{limit:,}", total=f"{len(table):,}"
    )
    return shown.reset_index(drop=True), text


def _call_list_title(calls: CallList, date: str, cfg: ExportConfig, words: str = "") -> str:
    text = label("call_list_title" + words, cfg).format(
        as_of=date, listed=f"{len(calls.rows):,}", at_risk=f"{calls.at_risk:,}"
    )
    if calls.cap and calls.at_risk > calls.cap:
        text += " " + label("call_list_capped", cfg).format(cap=f"{calls.cap:,}")
    return text


def workbook(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    movement: dict,
    metrics: pd.DataFrame,
    actions: dict,
    cfg: ExportConfig,
    breakdowns: dict[str, pd.DataFrame] | None = None,
    teams: dict | None = None,
    audit: dict | None = None,
    models_note: dict[str, str] | None = None,
    forecast: list[tuple[str | None, pd.DataFrame]] | None = None,
    sheets: dict[str, list[tuple[str | None, pd.DataFrame]]] | None = None,
    part_metrics: dict[str, pd.DataFrame] | None = None,
) -> bytes:
    """The workbook, sheets in `SHEETS` order (notes/phase2.md): the call list, summary (with the
    models in use, `models_note`), customers, movement, audit (`audit`: metrics/audit_details),
    forecast (`forecast`: its blocks, `forecast_view.workbook_blocks`), lifecycle, RFM, actions;
    with a `contract_tenure` breakdown (subscribers) in RFM's place (`SUBSCRIBER_SHEETS`);
    `part_metrics`: each part's model quality (`data.kind: both`) in the place of `metrics`.
    `sheets` may give any sheet's blocks (title or title key, frame) instead; a sheet with
    nothing this run says so in one line."""
    breakdowns = (
        breakdowns
        if breakdowns is not None
        else {
            "lifecycle": breakdown(table, "lifecycle_status", LIFECYCLE_ORDER),
            "rfm": breakdown(table, "rfm_segment"),
        }
    )
    sheets = {"forecast": with_content(forecast or []), **(sheets or {})}
    date = _document_date(table)
    tiers = tier_words(table, cfg)
    book = _Book(cfg)

    def people(frame: pd.DataFrame) -> pd.DataFrame:
        shown = for_people(one_language(frame, cfg.language), cfg, tiers)
        return both_languages(shown) if cfg.language == "both" else shown

    calls = call_list(table, cfg.call_list_customers)
    title = _call_list_title(calls, date, cfg, value_words(table))
    book.block(people(calls.rows), "call_list", 0, title, main=True)

    row = book.block(people(summary), "summary", 0, label("title_tiers", cfg))
    for part, frames in (part_metrics or {None: metrics}).items():  # data.kind both: per part
        for target, frame in quality_blocks(one_note(frames, cfg.language)):
            title = label("title_model_quality", cfg) + (
                f" · {word(f'target_{target}', cfg)}" if target else ""
            )
            title += f" · {word(f'part_{part}', cfg)}" if part else ""
            row = book.block(people(frame), "summary", row, title)
    if models_note:
        text = Words(cfg).pick(models_note, " / ")
        row = book.block(pd.DataFrame({"models_used": [text]}), "summary", row)
    shown, note = sheet_customers(table, cfg)
    notes = [
        label("value_at_stake_note" + value_words(table), cfg),
        *([note] if note else []),
    ]
    book.block(pd.DataFrame({"note": notes}), "summary", row)

    if recurring(shown):  # subscribers' groups are never renamed by their lifecycle
        shown = shown.drop(columns=["persona_adjusted"], errors="ignore")
    book.block(people(customer_sheet(shown)), "customers", main=True)

    if "movement" in sheets:
        given_blocks(book, "movement", sheets["movement"], people)
    else:
        movement_sheet(book, movement, table, people)
    if "audit" in sheets:
        given_blocks(book, "audit", sheets["audit"], people)
    else:
        audit_sheet(book, audit, people)
    given_blocks(book, "forecast", sheets["forecast"], people)
    breakdown_sheets(book, breakdowns, people)
    book.block(people(actions_table(actions, teams)), "actions", main=True)
    return book.close(label("title_workbook", cfg), date)
