"""The data-quality figures of a prepared input: counted (input rows = kept + rejected + skipped +
after the period), worded for the user (`input_notes`), and checked for a usable row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.files import SourceFiles
from segml.data.no_purchase import NO_PURCHASE_STATUSES
from segml.data.period import check_as_of
from segml.data.rejects import OUTSIDE, REASON_CODES, REASONS, SKIPPED, is_rejected
from segml.errors import ContractError


def quality_figures(
    reason: np.ndarray,
    kept: tuple[pd.DataFrame, np.ndarray],
    rows,
    no_purchase: pd.DataFrame,
    period: tuple[SourceFiles, pd.Timestamp, str | None],
    cfg: DataConfig,
    whole: bool,
) -> dict:
    """The data-quality figures: input rows = clean + rejected + skipped + after the period.
    `kept`: the clean table and its rows' customer codes (ascending); `rows`: the input parsed
    (`segml.data.validate`), for the customer file and the ids repaired or in two cases;
    `period`: the input's files, the export's end and as_of. The lines above the files' headers
    and the files are counted for the `whole` input, not for a partition."""
    clean, clean_customers = kept
    sources, end, as_of = period
    bad = is_rejected(reason)
    by_code = np.bincount(reason, minlength=REASON_CODES[list(OUTSIDE)[-1]] + 1)
    above = sum(sources.above_header) if whole else 0
    skipped = {"lines_above_header": above} | {k: int(by_code[REASON_CODES[k]]) for k in SKIPPED}
    rows_read = int(len(reason)) + above
    return {
        "rows_read": rows_read,
        "rows_clean": int(len(clean)),
        "rows_rejected": int(bad.sum()),
        "rows_skipped": int(sum(skipped.values())),
        "rows_after_period": int(by_code[REASON_CODES["after_period"]]),
        "rejected_share": float(bad.sum() / rows_read) if rows_read else 0.0,
        "rejected_by_reason": {
            code: int(by_code[REASON_CODES[code]])
            for code in REASONS
            if by_code[REASON_CODES[code]]
        },
        "skipped_by_kind": {kind: n for kind, n in skipped.items() if n},
        "customers_with_transactions": int(
            len(clean) and 1 + np.count_nonzero(np.diff(clean_customers))
        ),
        "customers_in_attribute_table": int(rows.customers[s.CUSTOMER_ID].nunique()),
        "refund_rows": int((clean[s.AMOUNT] < 0).sum()),
        "first_date": str(clean[s.TS].min().date()) if len(clean) else None,
        "last_date": str(clean[s.TS].max().date()) if len(clean) else None,
        "as_of": as_of,
        "export_end": None if end == pd.Timestamp.max else str(end.date()),
        "input_files": len(sources.names) if whole else 0,
        "ignored_files": [name for name, _ in sources.ignored] if whole else [],
        "customer_ids_repaired": {k: int(n) for k, n in rows.ids_repaired.items()},
        "customer_ids_in_two_cases": int(rows.case_variants),
        "customer_ids_case_merged": bool(cfg.merge_id_case),
        "customers_without_purchase": {
            status: int((no_purchase["status"] == status).sum()) for status in NO_PURCHASE_STATUSES
        },
    }


def input_notes(quality: dict, cfg: DataConfig) -> list[str]:
    """What a user should know about the input, in words (`notes` in the data-quality figures;
    the stage prints them): files left out,
    rows skipped or outside the period, ids repaired, damaged or written in two cases, and an
    as_of past the data's end."""
    notes = []
    if quality["ignored_files"]:
        notes.append(f"left out of the input folder: {', '.join(quality['ignored_files'])}")
    skipped = quality["skipped_by_kind"]
    if skipped:
        words = {
            "lines_above_header": "line(s) above the header",
            "empty_rows": "empty row(s)",
            "total_rows": "total row(s)",
            "footer_rows": "note(s) under the data",
        }
        notes.append(
            "skipped, not customers: " + ", ".join(f"{n:,} {words[k]}" for k, n in skipped.items())
        )
    if quality["rows_after_period"]:
        notes.append(
            f"{quality['rows_after_period']:,} rows dated after as_of {quality['as_of']} are "
            "outside this period (counted, not rejected)"
        )
    repaired = quality["customer_ids_repaired"]
    if repaired.get("float_tail"):
        notes.append(
            f"{repaired['float_tail']:,} rows had a customer id with a float tail (12345.0): "
            "read as the whole number (12345)"
        )
    if repaired.get("spaces_or_full_width"):
        notes.append(
            f"{repaired['spaces_or_full_width']:,} rows had a customer id with stray spaces, "
            "invisible marks or full-width characters: read without them"
        )
    damaged = quality["rejected_by_reason"].get("damaged_customer_id")
    if damaged:
        notes.append(
            f"{damaged:,} rows have a customer id in scientific notation (1.23457E+11): "
            "rejected; export the id column as text"
        )
    if quality["customer_ids_in_two_cases"]:
        n = quality["customer_ids_in_two_cases"]
        notes.append(
            f"{n:,} customer id(s) are written in more than one letter case (C00012 / c00012): "
            + (
                "merged (data.merge_id_case)"
                if cfg.merge_id_case
                else "each spelling is a separate customer; set data.merge_id_case: true to merge"
            )
        )
    unreadable = quality.get("attribute_values_unreadable") or {}  # typed customer attributes
    if unreadable:
        notes.append(
            "customer attribute values not of their type (data.customer_columns), left blank: "
            + ", ".join(f"{n:,} in {column}" for column, n in unreadable.items())
        )
    past_end = check_as_of(quality["as_of"], quality["last_date"], cfg)  # a note, or it stopped
    if past_end:
        notes.append(past_end)
    return notes


def check_usable(quality: dict, source: str) -> None:
    """Stop, saying why, when the clean data cannot describe any customer: before later stages
    fail obscurely."""
    if not quality["rows_clean"] and quality["rows_after_period"]:
        raise ContractError(
            f"{source}: the period has no data: {quality['rows_after_period']:,} of its "
            f"{quality['rows_read']:,} rows are dated after as_of {quality['as_of']}, and none "
            f"before it is usable. Set as_of to a date within the export (it ends "
            f"{quality['export_end']}), or null for its end."
        )
    if not quality["rows_clean"]:
        counts = quality["rejected_by_reason"]
        raise ContractError(
            f"{source}: none of its {quality['rows_read']} rows is usable ("
            + "; ".join(f"{n} × {REASONS[code]}" for code, n in counts.items())
            + "). Check the column mapping and formats in conf/data (data.columns, data.timestamp_format, "
            "data.dayfirst, data.decimal) and `as_of`."
        )
    if quality["rows_clean"] == quality["refund_rows"]:  # refunds alone describe no behaviour
        raise ContractError(
            f"{source}: no purchase rows, only refunds: all {quality['rows_clean']} usable "
            "rows have a negative amount, so there is nothing to model. Purchases must be positive "
            "and refunds negative: check that `data.columns.amount` names the amount column, and "
            "the sign of amounts in the export."
        )
