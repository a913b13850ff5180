"""Prepare: map the user's columns, parse, validate, deduplicate. Nothing is silently dropped.

Every row that cannot be used goes to the rejected table with its original text, the file it came
from, its 1-based data row number and one reason; good rows go on. `prepare` reads as its steps:
map the columns, parse them (`segml.data.parse`), find the export's end, give each row its reason
(`segml.data.rejects`), put the kept rows in order without duplicates, check the clean table
against the contract while the rejected rows and the customers without a usable purchase
(`segml.data.no_purchase`) are set aside, and count the data-quality figures.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.no_purchase import NO_PURCHASE_STATUSES, customers_without_purchase
from segml.data.parse import (
    customer_codes,
    parse_amounts,
    parse_optional,
    parse_timestamps,
    text_or_none,
)
from segml.data.raw import text_table
from segml.data.rejects import REASON_CODES, REASON_TEXT, REASONS, reject_codes, whole_rows
from segml.errors import ContractError, InputWarning
from segml.machine import at_once, cores


@dataclass(frozen=True)
class Prepared:
    transactions: pd.DataFrame
    customers: pd.DataFrame
    rejected: pd.DataFrame  # the user's rows whole (every column as text) + row, reason, file
    quality: dict
    no_purchase: pd.DataFrame  # known customers without a usable purchase (NO_PURCHASE_COLUMNS)


@dataclass(frozen=True)
class Part:
    """What one partition of the input needs from the whole (see `prepare`)."""

    transaction_rows: np.ndarray  # 1-based data row in the transactions file, per row
    customer_rows: np.ndarray | None  # the same in the customer file
    end: pd.Timestamp  # the end of the export (`export_end` over every partition's active days)
    timestamps: np.ndarray | None = None  # parsed already for the end (datetime64[ns])


def column_mapping(
    names: list,
    mapping: dict,
    required: tuple[str, ...],
    source: str,
    key: str,
    on_missing: str = "warn",
) -> dict[str, object]:
    """Canonical name -> the user's column, for the columns a file has.

    A mapped column missing from the file stops with advice when it is required, or when
    `on_missing` is "stop" (`data.on_missing_column`); else it warns ("warn", an `InputWarning`)
    or, for a partition of a file whose header was checked already, says nothing ("ignore").
    Either way the message names the file's closest header."""
    present = {str(c).strip(): c for c in names}
    mapped = {str(v) for v in mapping.values() if v is not None}
    unmapped = [name for name in present if name not in mapped]
    found = {}
    for canonical, theirs in mapping.items():
        if theirs is None:
            if canonical in required:
                raise ContractError(
                    f"{source}: `{key}.{canonical}` is not set; it names a required column."
                )
            continue
        if str(theirs) not in present:
            guess = closest_header(str(theirs), unmapped)
            if canonical in required:
                raise ContractError(
                    f"{source}: required column {theirs!r} (for {canonical}) not found.{guess} "
                    f"Columns in the file: {list(present)}. Set `{key}.{canonical}` in conf/data to "
                    "the name of your column."
                )
            message = (
                f"{source}: column {theirs!r} (`{key}.{canonical}`) is not in the file.{guess} "
                f"Set `{key}.{canonical}` in conf/data to the name of your column, or to null "
                "when the file has none"
            )
            if on_missing == "stop":
                raise ContractError(f"{message} (data.on_missing_column: stop).")
            if on_missing == "warn":
                warnings.warn(
                    InputWarning(
                        f"{message}; going on without {canonical} (data.on_missing_column: stop "
                        "stops instead)."
                    ),
                    stacklevel=2,
                )
            continue
        found[canonical] = present[str(theirs)]
    return found


def closest_header(wanted: str, headers: list[str]) -> str:
    """' Did you mean '品类'?' for the header closest to a mapped name, or ''."""
    folded = {h.casefold(): h for h in headers}
    close = difflib.get_close_matches(wanted.strip().casefold(), list(folded), n=1, cutoff=0.5)
    return f" Did you mean {folded[close[0]]!r}?" if close else ""


DAY_NS = 86_400 * 10**9


def active_days(ts: np.ndarray) -> np.ndarray:
    """The distinct days with a parseable timestamp (datetime64[ns]), sorted."""
    day = ts.view("int64")[~np.isnat(ts)] // DAY_NS
    if not len(day):
        return np.array([], dtype="datetime64[ns]")
    first = day.min()
    return ((np.flatnonzero(np.bincount(day - first)) + first) * DAY_NS).astype("datetime64[ns]")


def end_of_day(day: pd.Timestamp) -> pd.Timestamp:
    return day + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")


def export_end(days: np.ndarray, max_gap_days: int) -> pd.Timestamp:
    """Last day of real activity among the export's `active_days`: stragglers after a long silent
    gap at the tail are future-dated."""
    if len(days) == 0:
        return pd.Timestamp.max
    gaps = np.diff(days) > np.timedelta64(max_gap_days, "D")
    if not gaps.any():
        return end_of_day(pd.Timestamp(days[-1]))
    cut = np.flatnonzero(gaps)[-1]
    # only a thin tail counts as stragglers; a big block after a gap is real data
    if len(days) - cut - 1 > max(3, 0.05 * len(days)):
        return end_of_day(pd.Timestamp(days[-1]))
    return end_of_day(pd.Timestamp(days[cut]))


def prepare(
    raw_transactions: pd.DataFrame | pa.Table,
    raw_customers: pd.DataFrame | pa.Table | None,
    cfg: DataConfig,
    as_of: str | None = None,
    transactions_source: str = "transactions",
    customers_source: str = "customers",
    part: Part | None = None,
) -> Prepared:
    """Validate and clean raw tables (all columns as text) into typed canonical tables.

    The work is columnar: Arrow compute and numpy over whole columns, with pandas only for the
    rows Arrow cannot judge alike (unusual timestamps, rows tied on customer and time).

    `part`: these rows are one partition of the files (`segml.data.partitions`), with their row
    numbers in the file, the export's end found over all partitions and, when that took them,
    their parsed timestamps."""
    raw = text_table(raw_transactions)
    text = _mapped_columns(raw, cfg, transactions_source, empty_allowed=part is not None)
    rows = _parsed(text, raw_customers, cfg, customers_source, part)
    end = _end_of_export(rows.ts, cfg, as_of, part)
    reason = reject_codes(rows.customer, rows.ts, rows.amount, end, cfg)
    order = _deduplicated_order(reason, rows.customer, rows.ts, text, rows.optional.get(s.ORDER_ID))
    clean = _clean_transactions(rows, order)
    row_numbers = part.transaction_rows if part else np.arange(1, raw.num_rows + 1)
    rejected, no_purchase = _checked_and_set_aside(
        clean, rows, reason, raw, row_numbers, cfg, transactions_source
    )
    quality = _quality(reason, clean, rows.customer[order], rows.customers, no_purchase)
    if not part:  # a partition may hold no usable row; the files as a whole must
        check_usable(quality, transactions_source)
    return Prepared(clean, rows.customers, rejected, quality, no_purchase)


@dataclass(frozen=True)
class _Parsed:
    """The transactions file's mapped columns parsed (one value per row), and the customer file
    prepared."""

    ts: np.ndarray  # datetime64[ns]; NaT where unparseable
    amount: np.ndarray  # float; NaN where unparseable
    ids: pa.Array  # the distinct customer ids, in id order
    customer: np.ndarray  # per row, the position of its id in `ids` (-1: missing)
    optional: dict  # the optional columns present, parsed (`parse_optional`), in schema order
    customers: pd.DataFrame  # the clean customer table
    rejected_customers: pd.DataFrame  # the customer file's rejected rows, whole


def _mapped_columns(
    raw: pa.Table, cfg: DataConfig, source: str, empty_allowed: bool
) -> dict[str, pa.ChunkedArray]:
    """The transactions file's columns by canonical name, text as read (chunked). A required
    column missing, or no data row (`empty_allowed`: a partition may be empty; the file may
    not), stops with advice."""
    columns = column_mapping(
        raw.column_names,
        cfg.columns,
        s.REQUIRED_TRANSACTION_COLUMNS,
        source,
        "data.columns",
        _on_missing(cfg, whole=not empty_allowed),
    )
    if not raw.num_rows and not empty_allowed:
        raise no_data_rows(source, raw.column_names)
    return {canonical: raw[name] for canonical, name in columns.items()}


def _on_missing(cfg: DataConfig, whole: bool) -> str:
    """`data.on_missing_column` for a whole file; a partition of one (engine: dask) only stops,
    since splitting the file has warned about its header once already."""
    return cfg.on_missing_column if whole or cfg.on_missing_column == "stop" else "ignore"


_OPTIONAL = s.OPTIONAL_TRANSACTION_COLUMNS


def _parsed(
    text: dict[str, pa.ChunkedArray],
    raw_customers: pd.DataFrame | pa.Table | None,
    cfg: DataConfig,
    customers_source: str,
    part: Part | None,
) -> _Parsed:
    """Every mapped column parsed and the customer file prepared, each on its own, on every core
    (Arrow compute and numpy release the GIL). A partition's timestamps may be parsed already."""
    parsed = part.timestamps if part else None
    work = at_once(
        {
            s.TS: lambda: parse_timestamps(text[s.TS], cfg) if parsed is None else parsed,
            s.CUSTOMER_ID: lambda: customer_codes(text[s.CUSTOMER_ID]),
            s.AMOUNT: lambda: parse_amounts(text[s.AMOUNT], cfg),
            "customers": lambda: _prepare_customers(
                raw_customers, cfg, customers_source, part.customer_rows if part else None
            ),
            **{c: partial(parse_optional, c, text[c]) for c in _OPTIONAL if c in text},
        }
    )
    ts, amount = work.pop(s.TS), work.pop(s.AMOUNT)
    ids, customer = work.pop(s.CUSTOMER_ID)
    customers, rejected_customers = work.pop("customers")
    return _Parsed(ts, amount, ids, customer, work, customers, rejected_customers)


def _end_of_export(
    ts: np.ndarray, cfg: DataConfig, as_of: str | None, part: Part | None
) -> pd.Timestamp:
    """Rows after this are future-dated: the end found over every partition, the end of
    `as_of`'s day, or the export's last day of real activity (`export_end`)."""
    if part:
        return part.end
    if as_of:
        return end_of_day(pd.Timestamp(as_of))
    return export_end(active_days(ts), cfg.max_tail_gap_days)


def _clean_transactions(rows: _Parsed, order: np.ndarray) -> pd.DataFrame:
    """The kept rows, in `order`, as the clean table: canonical columns, typed."""
    by_customer = rows.customer[order]  # ascending
    clean = at_once(
        {
            s.CUSTOMER_ID: lambda: rows.ids.cast(pa.large_string()).take(by_customer),
            s.TS: lambda: rows.ts[order],
            s.AMOUNT: lambda: rows.amount[order],
            **{c: partial(_in_order, values, order) for c, values in rows.optional.items()},
        }
    )
    return _frame(clean)


def _checked_and_set_aside(
    clean: pd.DataFrame,
    rows: _Parsed,
    reason: np.ndarray,
    raw: pa.Table,
    row_numbers: np.ndarray,
    cfg: DataConfig,
    source: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clean table checked against the contract while, side by side, the rejected rows (the
    transactions', then the customers') and the customers without a usable purchase are set
    aside; returns those two tables."""
    contract = (
        s.CLEAN_TRANSACTIONS if cfg.drop_zero_amounts else s.CLEAN_TRANSACTIONS_WITH_FREE_ORDERS
    )
    bad = reason > 0
    outputs = at_once(
        {
            # checks only: no copy of the table
            "contract": lambda: contract.validate(clean, inplace=True),
            "rejected": lambda: whole_rows(raw, bad, REASON_TEXT[reason[bad]], source, row_numbers),
            "no_purchase": lambda: customers_without_purchase(
                rows.ids, rows.customer, reason, rows.amount, rows.customers[s.CUSTOMER_ID]
            ),
        }
    )
    rejected = pd.concat([outputs["rejected"], rows.rejected_customers], ignore_index=True)
    rejected[s.SOURCE_ROW] = rejected[s.SOURCE_ROW].astype("int64")
    return rejected, outputs["no_purchase"]


def _quality(
    reason: np.ndarray,
    clean: pd.DataFrame,
    clean_customers: np.ndarray,
    customers: pd.DataFrame,
    no_purchase: pd.DataFrame,
) -> dict:
    """The data-quality figures (`clean_customers`: the clean rows' customer codes, ascending)."""
    bad = reason > 0
    by_reason = np.bincount(reason, minlength=len(REASONS) + 1)[1:]
    return {
        "rows_read": int(len(reason)),
        "rows_clean": int(len(clean)),
        "rows_rejected": int(bad.sum()),
        "rejected_share": float(bad.mean()) if len(reason) else 0.0,
        "rejected_by_reason": {code: int(n) for code, n in zip(REASONS, by_reason) if n},
        "customers_with_transactions": int(
            len(clean) and 1 + np.count_nonzero(np.diff(clean_customers))
        ),
        "customers_in_attribute_table": int(len(customers)),
        "refund_rows": int((clean[s.AMOUNT] < 0).sum()),
        "first_date": str(clean[s.TS].min().date()) if len(clean) else None,
        "last_date": str(clean[s.TS].max().date()) if len(clean) else None,
        "customers_without_purchase": {
            status: int((no_purchase["status"] == status).sum()) for status in NO_PURCHASE_STATUSES
        },
    }


def _in_order(values, order: np.ndarray):
    """A parsed column's rows in `order`; text as pandas holds it (large_string: the conversion
    to a DataFrame then copies nothing), labels as plain text again."""
    if isinstance(values, np.ndarray):
        return values[order]
    if isinstance(values, pa.DictionaryArray):
        return values.dictionary.cast(pa.large_string()).take(values.indices.take(order))
    # cast first: a take joins the chunks, and 32-bit offsets hold at most 2 GiB of text
    return values.cast(pa.large_string()).take(order)


def _frame(columns: dict) -> pd.DataFrame:
    """Arrow text and numpy columns as one DataFrame, in order; text becomes pandas' Arrow-backed
    `str` without a copy."""
    arrow = (pa.Array, pa.ChunkedArray)
    text = pa.table({n: v for n, v in columns.items() if isinstance(v, arrow)}).to_pandas()
    return pd.DataFrame({n: text[n] if n in text else v for n, v in columns.items()}, copy=False)


def no_data_rows(source: str, columns: list) -> ContractError:
    return ContractError(
        f"{source} has a header but no data rows (columns: {columns}). Export it again with its "
        "rows, or point `paths.raw_transactions` at the right file."
    )


def check_usable(quality: dict, source: str) -> None:
    """Stop, saying why, when the clean data cannot describe any customer: before later stages
    fail obscurely."""
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


def _deduplicated_order(
    reason: np.ndarray,
    customer: np.ndarray,
    ts: np.ndarray,
    text: dict[str, pa.Array],
    order_id: pa.Array | None,
) -> np.ndarray:
    """The rows kept so far in clean order: by customer, time and order id, ties in input order.
    Rows identical in every mapped column to an earlier row are marked duplicate in `reason` and
    left out.

    Rows are sorted on integers (the customer's rank among the distinct ids, the time); only the
    rows sharing customer and time with another (a few %) are compared in full text, for
    duplicates, and by order id. Identical rows parse alike, so a duplicate of a rejected row is
    rejected for the same reason already; comparing kept rows is enough."""
    time = ts.view("int64")
    order = _by_customer_and_time(np.flatnonzero(reason == 0), customer, time)
    by_customer, by_time = customer[order], time[order]
    same = (by_customer[1:] == by_customer[:-1]) & (by_time[1:] == by_time[:-1])
    tied = np.flatnonzero(np.r_[False, same] | np.r_[same, False])  # positions in `order`
    if not len(tied):
        return order
    group = np.cumsum(~np.r_[False, same][tied])  # runs of one customer and time
    rows = order[tied]
    full = pa.table({name: _take_few(values, rows) for name, values in text.items()})
    duplicate = full.to_pandas().assign(group=group).duplicated(keep="first").to_numpy()
    reason[rows[duplicate]] = REASON_CODES["duplicate"]
    left_out = tied[duplicate]
    if order_id is not None:  # the rest of each run by order id
        tied, group = tied[~duplicate], group[~duplicate]
        ties = pa.table(
            {"group": group, "order_id": _take_few(order_id, order[tied]), "position": tied}
        )
        keys = [(key, "ascending", "at_end") for key in ("group", "order_id", "position")]
        within = pc.sort_indices(ties, sort_keys=keys).to_numpy()
        order[tied] = order[tied][within]
    return np.delete(order, left_out)


def _by_customer_and_time(rows: np.ndarray, customer: np.ndarray, time: np.ndarray) -> np.ndarray:
    """`rows` sorted by customer, then time, ties in input order (a stable sort). One slice of
    the customers per core, sorted side by side."""
    slices = cores()
    slice_of = customer[rows] * slices // (customer.max(initial=0) + 1)
    parts = [rows[slice_of == k] for k in range(slices)]  # each in input order
    sorted_parts = at_once({k: partial(_lexsorted, p, customer, time) for k, p in enumerate(parts)})
    return np.concatenate(list(sorted_parts.values()))


def _lexsorted(rows: np.ndarray, customer: np.ndarray, time: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((time[rows], customer[rows]))]


def _take_few(values: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> pa.Array:
    """`values.take(rows)` for a few rows of a long chunked column: a take joins every chunk
    first (a copy of the column); a filter works chunk by chunk, and the few rows are put in
    order after."""
    wanted = np.zeros(len(values), dtype=bool)
    wanted[rows] = True
    ascending = values.filter(wanted)
    return ascending.take(np.searchsorted(np.flatnonzero(wanted), rows))


def _prepare_customers(
    raw: pd.DataFrame | pa.Table | None,
    cfg: DataConfig,
    source: str,
    row_numbers: np.ndarray | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = pd.DataFrame({s.CUSTOMER_ID: pd.Series(dtype=str)})
    if raw is None:
        return empty, pd.DataFrame()
    raw = text_table(raw)
    columns = column_mapping(
        raw.column_names,
        cfg.customer_columns,
        (s.CUSTOMER_ID,),
        source,
        "data.customer_columns",
        _on_missing(cfg, whole=row_numbers is None),
    )
    if row_numbers is None:
        row_numbers = np.arange(1, raw.num_rows + 1)
    ids = text_or_none(raw[columns[s.CUSTOMER_ID]])
    reason = np.full(raw.num_rows, None, dtype=object)
    reason[pc.is_null(ids).to_numpy(zero_copy_only=False)] = REASONS["missing_customer_id"]
    repeated = ids.to_pandas().duplicated(keep="first").to_numpy()
    reason[repeated & pd.isna(reason)] = REASONS["duplicate_customer"]
    good = pd.isna(reason)
    attributes = [c for c in s.ATTRIBUTE_COLUMNS if c in columns]
    kept = {s.CUSTOMER_ID: ids.filter(good)}
    kept |= {c: text_or_none(raw[columns[c]]).filter(good) for c in attributes}
    customers = _frame(kept).sort_values(s.CUSTOMER_ID, ignore_index=True)
    s.CLEAN_CUSTOMERS.validate(customers, inplace=True)
    return customers, whole_rows(raw, ~good, reason[~good], source, row_numbers)
