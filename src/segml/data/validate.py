"""Prepare: map the user's columns, parse, validate, deduplicate. Nothing is silently dropped.

Every row that cannot be used goes to the rejected table with its original text, the file it came
from, its 1-based data row number and one reason; good rows go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import raw as raw_input
from segml.data import schema as s
from segml.errors import ContractError
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


REASONS = {
    "missing_customer_id": "missing customer id",
    "bad_timestamp": "unparseable timestamp",
    "bad_amount": "unparseable amount",
    "zero_amount": "zero amount",
    "absurd_amount": "absolute amount above data.max_abs_amount",
    "future": "dated after the end of the export (future-dated)",
    "duplicate": "exact duplicate of an earlier row",
    "duplicate_customer": "customer id listed twice in the customer table",
}


def column_mapping(
    names: list, mapping: dict, required: tuple[str, ...], source: str, key: str
) -> dict[str, object]:
    """Canonical name -> the user's column, for the columns a file has; a missing required column
    stops with advice."""
    present = {str(c).strip(): c for c in names}
    found = {}
    for canonical, theirs in mapping.items():
        if theirs is None:
            if canonical in required:
                raise ContractError(
                    f"{source}: `{key}.{canonical}` is not set; it names a required column."
                )
            continue
        if str(theirs) not in present:
            if canonical in required:
                raise ContractError(
                    f"{source}: required column {theirs!r} (for {canonical}) not found. "
                    f"Columns in the file: {list(present)}. Set `{key}.{canonical}` in conf/data to "
                    "the name of your column."
                )
            continue
        found[canonical] = present[str(theirs)]
    return found


def parse_amount(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """'¥1,234.50', ' 1 234,50 ', '-99' -> float; anything else -> NaN."""
    return pd.Series(_amounts(raw_input.text_array(text), cfg), index=text.index)


# a plain decimal number (ASCII digits, optional sign, point and exponent); anything else is bad
_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_BARE_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"  # nor white space around it
_NUMBER_CHARACTERS = set("0123456789+-.eE")


def _amounts(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """Amounts in Arrow compute (C++; pandas' regex replace loops in Python per row). Most rows
    are bare numbers already: they are cast at once, and only the rest are cleaned first."""
    if not _cleaning_keeps_bare_numbers(cfg):
        return _numbers(_cleaned_amounts(text, cfg))
    return _numbers(text, clean=lambda rest: _cleaned_amounts(rest, cfg))


def _cleaned_amounts(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> pa.Array:
    """Amount text without currency symbols, white space or thousands separators, with a "."
    for the decimal mark."""
    for symbol in cfg.currency_symbols:
        text = pc.replace_substring(text, symbol, "")
    text = pc.replace_substring_regex(text, r"\s", "")
    if cfg.thousands_separator:
        text = pc.replace_substring(text, cfg.thousands_separator, "")
    if cfg.decimal != ".":
        text = pc.replace_substring(text, cfg.decimal, ".")
    return text


def _cleaning_keeps_bare_numbers(cfg: DataConfig) -> bool:
    """Whether cleaning leaves every bare number as it is: no currency symbol or thousands
    separator could be part of one (a "." separator could), and the decimal mark is "." or not
    in a bare number at all."""

    def could_be_in_a_number(piece: str) -> bool:
        return bool(piece.strip()) and set(piece.strip()) <= _NUMBER_CHARACTERS

    pieces = [*cfg.currency_symbols, cfg.thousands_separator or ""]
    return not any(map(could_be_in_a_number, pieces)) and (
        cfg.decimal == "." or not set(cfg.decimal) & _NUMBER_CHARACTERS
    )


def _matches(text: pa.Array, pattern: str) -> np.ndarray:
    """Per row, whether the text matches (missing text does not)."""
    return pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
        zero_copy_only=False
    )


def _numbers(text: pa.Array | pa.ChunkedArray, clean=None) -> np.ndarray:
    """Text to float in Arrow, NaN where the text is not a plain number (as pd.to_numeric with
    errors="coerce", without its Python loop; "inf" is not a number here either). Bare numbers,
    most rows, are cast at once; `clean` (text -> text) is applied to the others first."""
    bare = _matches(text, _BARE_NUMBER)
    if bare.all():
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    out = np.full(len(text), np.nan)
    if bare.any():
        out[bare] = pc.cast(text.filter(bare), pa.float64()).to_numpy(zero_copy_only=False)
    rest = text.filter(~bare)
    rest = clean(rest) if clean else rest
    plain = pc.if_else(
        pc.match_substring_regex(rest, _NUMBER),
        pc.utf8_trim_whitespace(rest),
        pa.scalar(None, pa.string()),
    )
    out[~bare] = pc.cast(plain, pa.float64()).to_numpy(zero_copy_only=False)
    return out


# `data.timestamp_format` words for numeric stamps ("%s" is strftime's own code for epoch seconds)
EPOCH_UNITS = {"epoch_s": "s", "%s": "s", "epoch_ms": "ms"}
EXCEL_FORMAT = "excel"
EXCEL_DAY_ZERO = pd.Timestamp("1899-12-30")  # Excel's serial day 0 (after its 1900 leap-year bug)
# stamps outside these years are misread numbers (e.g. milliseconds taken for seconds), not dates
PLAUSIBLE_YEARS = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))


def _to_datetime(text: pd.Series, cfg: DataConfig, utc: bool) -> pd.Series:
    """The configured format, else fast ISO 8601 with a per-element fallback for the rest."""
    fmt = cfg.timestamp_format or "ISO8601"
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", dayfirst=cfg.dayfirst, utc=utc)
    except ValueError as exc:  # a bad pattern, not bad data
        raise ContractError(
            f"`data.timestamp_format` {fmt!r} is not a usable pattern ({exc}). Use strftime codes "
            'such as "%Y-%m-%d %H:%M" or "%Y年%m月%d日", or one of epoch_s, epoch_ms, excel '
            "for numeric stamps, or null to infer ISO-like dates."
        ) from None
    retry = parsed.isna() & text.notna() & (text != "")
    if cfg.timestamp_format is None and retry.any():
        # in ns: a first pass that parsed nothing may be in seconds, too coarse for the retry's
        parsed = parsed.dt.as_unit("ns")
        parsed[retry] = pd.to_datetime(
            text[retry], format="mixed", errors="coerce", dayfirst=cfg.dayfirst, utc=utc
        )
    return parsed


def _numeric_timestamp(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """Epoch seconds/milliseconds (instants, shown in `cfg.timezone`) or Excel serial days
    (local time)."""
    number = pd.to_numeric(text, errors="coerce").astype(float)
    if cfg.timestamp_format == EXCEL_FORMAT:
        # whole milliseconds: Excel keeps no finer time, and float days carry rounding noise
        days = number.where(number.between(0, (PLAUSIBLE_YEARS[1] - EXCEL_DAY_ZERO).days))
        local = EXCEL_DAY_ZERO + pd.to_timedelta((days * 86_400_000).round(), unit="ms")
    else:
        unit = EPOCH_UNITS[cfg.timestamp_format]
        lo, hi = (
            (bound - pd.Timestamp("1970-01-01")) / pd.Timedelta(1, unit)
            for bound in PLAUSIBLE_YEARS
        )
        instant = pd.to_datetime(number.where(number.between(lo, hi)), unit=unit, utc=True)
        local = instant.dt.tz_convert(cfg.timezone or "UTC").dt.tz_localize(None)
    local = local.where(local.between(*PLAUSIBLE_YEARS))
    return local.astype("datetime64[ns]")


def parse_timestamp(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """Parse to naive local time (ns). Stamps with an offset are converted to `cfg.timezone`;
    stamps without one are taken as local time already. Numeric stamps follow
    `cfg.timestamp_format`: epoch_s, epoch_ms (instants) or excel (serial days, local)."""
    return pd.Series(parse_timestamps(raw_input.text_array(text), cfg), index=text.index)


# an ISO 8601 local stamp of a real day from 1900 to 2099 (29 February aside: leap years are
# left to pandas), with an optional time of day; Arrow casts these exactly as pandas parses them
_ISO_DAY = (
    r"(19|20)\d\d-"
    r"((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
)
_ISO_TIME = r"([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?"
_ISO_LOCAL = f"^{_ISO_DAY}{_ISO_TIME}$"


def parse_timestamps(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """`parse_timestamp` on Arrow text, as datetime64[ns]. With ISO dates inferred, the usual
    plain local stamps are cast by Arrow at once; pandas parses only the rest."""
    if cfg.timestamp_format is not None:
        return _parsed_by_pandas(text, cfg)
    plain = _matches(text, _ISO_LOCAL)
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    if plain.any():
        out[plain] = pc.cast(text.filter(plain), pa.timestamp("ns")).to_numpy()
    if not plain.all():
        out[~plain] = _parsed_by_pandas(text.filter(~plain), cfg)
    return out


def _parsed_by_pandas(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """The general parse, by pandas: a configured format, offsets, day-first, mixed shapes."""
    text = text.to_pandas().astype("string").str.strip()
    if cfg.timestamp_format in EPOCH_UNITS or cfg.timestamp_format == EXCEL_FORMAT:
        return _numeric_timestamp(text, cfg).to_numpy()
    # an offset only counts after a clock time, so day-first dates like 31-12-2024 stay local
    offset = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
    zoned = pd.Series(_matches(raw_input.text_array(text), offset), index=text.index)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    out[~zoned] = _to_datetime(text[~zoned], cfg, utc=False).astype("datetime64[ns]")
    if zoned.any():
        local = (
            _to_datetime(text[zoned], cfg, utc=True)
            .dt.tz_convert(cfg.timezone or "UTC")
            .dt.tz_localize(None)
        )
        out[zoned] = local.astype("datetime64[ns]")
    return out.to_numpy()


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
    raw = raw_input.text_table(raw_transactions)
    columns = column_mapping(
        raw.column_names,
        cfg.columns,
        s.REQUIRED_TRANSACTION_COLUMNS,
        transactions_source,
        "data.columns",
    )
    if not raw.num_rows and not part:  # a partition may be empty; the file may not
        raise no_data_rows(transactions_source, raw.column_names)
    text = {canonical: raw[name] for canonical, name in columns.items()}  # chunked, as read
    tx_rows = part.transaction_rows if part else np.arange(1, raw.num_rows + 1)

    parsed = part.timestamps if part else None
    # each column on its own, on every core (Arrow compute and numpy release the GIL)
    work = at_once(
        {
            s.TS: lambda: parse_timestamps(text[s.TS], cfg) if parsed is None else parsed,
            s.CUSTOMER_ID: lambda: _customer_codes(text[s.CUSTOMER_ID]),
            s.AMOUNT: lambda: _amounts(text[s.AMOUNT], cfg),
            "customers": lambda: _prepare_customers(
                raw_customers, cfg, customers_source, part.customer_rows if part else None
            ),
            **{c: partial(_optional_column, c, text[c]) for c in _OPTIONAL if c in text},
        }
    )
    ts, amount = work.pop(s.TS), work.pop(s.AMOUNT)
    ids, customer = work.pop(s.CUSTOMER_ID)
    customers, rejected_customers = work.pop("customers")
    if part:
        end = part.end
    elif as_of:
        end = end_of_day(pd.Timestamp(as_of))
    else:
        end = export_end(active_days(ts), cfg.max_tail_gap_days)

    reason = _reasons(customer, ts, amount, end, cfg)
    order = _deduplicated_order(reason, customer, ts, text, work.get(s.ORDER_ID))

    by_customer = customer[order]  # ascending
    clean = at_once(
        {
            s.CUSTOMER_ID: lambda: ids.cast(pa.large_string()).take(by_customer),
            s.TS: lambda: ts[order],
            s.AMOUNT: lambda: amount[order],
            **{c: partial(_in_order, values, order) for c, values in work.items()},
        }
    )
    clean = _frame(clean)
    contract = (
        s.CLEAN_TRANSACTIONS if cfg.drop_zero_amounts else s.CLEAN_TRANSACTIONS_WITH_FREE_ORDERS
    )
    bad = reason > 0
    outputs = at_once(
        {
            # checks only: no copy of the table
            "contract": lambda: contract.validate(clean, inplace=True),
            "rejected": lambda: _whole_rows(
                raw, bad, REASON_TEXT[reason[bad]], transactions_source, tx_rows
            ),
            "no_purchase": lambda: customers_without_purchase(
                ids, customer, reason, amount, customers[s.CUSTOMER_ID]
            ),
        }
    )
    rejected = pd.concat([outputs["rejected"], rejected_customers], ignore_index=True)
    rejected[s.SOURCE_ROW] = rejected[s.SOURCE_ROW].astype("int64")
    no_purchase = outputs["no_purchase"]
    quality = _quality(reason, clean, by_customer, customers, no_purchase)
    if not part:  # a partition may hold no usable row; the files as a whole must
        check_usable(quality, transactions_source)
    return Prepared(clean, customers, rejected, quality, no_purchase)


REASON_CODES = {key: k for k, key in enumerate(REASONS, start=1)}  # 0: kept
REASON_TEXT = np.array([None, *REASONS.values()], dtype=object)  # by code


def _reasons(
    customer: np.ndarray, ts: np.ndarray, amount: np.ndarray, end: pd.Timestamp, cfg: DataConfig
) -> np.ndarray:
    """Per row, the code of the first reason it cannot be used (REASON_CODES), or 0. Duplicates
    are found later, among the rows kept here."""
    reason = np.zeros(len(customer), dtype=np.int8)

    def reject(mask: np.ndarray, key: str) -> None:
        reason[mask & (reason == 0)] = REASON_CODES[key]

    reject(customer < 0, "missing_customer_id")
    reject(np.isnat(ts), "bad_timestamp")
    with np.errstate(invalid="ignore"):
        reject(np.isnan(amount), "bad_amount")
        if cfg.drop_zero_amounts:
            reject(amount == 0, "zero_amount")
        reject(np.abs(amount) > cfg.max_abs_amount, "absurd_amount")
    reject(ts > end.to_datetime64(), "future")
    return reason


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


def _customer_codes(text: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """The distinct customer ids (stripped) in id order, and per row the position of its id
    among them: -1 where the id is missing or blank."""
    # the distinct texts first: stripping them (not every row) may make some the same id
    encoded = pc.dictionary_encode(text).combine_chunks()  # one dictionary: joins only indices
    stripped = pc.dictionary_encode(_text_or_none(encoded.dictionary))
    ids = stripped.dictionary
    rank = pc.sort_indices(ids).to_numpy()
    position = np.empty(len(rank) + 1, dtype=np.int64)
    position[rank] = np.arange(len(rank))
    position[-1] = -1  # a missing or blank id
    by_text = position[pc.fill_null(stripped.indices, -1).to_numpy()]
    codes = np.r_[by_text, -1][pc.fill_null(encoded.indices, -1).to_numpy()]
    return ids.take(rank), codes


_OPTIONAL = s.OPTIONAL_TRANSACTION_COLUMNS
_LABELS = (s.CATEGORY, s.CHANNEL)  # a few distinct values each


def _optional_column(column: str, values: pa.ChunkedArray):
    """An optional column parsed, for every row: order ids stripped (blank: missing), quantities
    as numbers, labels dictionary-encoded with their distinct values stripped."""
    if column == s.QUANTITY:
        return _numbers(values)  # numbers move faster than text when rows are put in order
    if column in _LABELS:  # the text work once per distinct label
        encoded = pc.dictionary_encode(values).combine_chunks()
        return pa.DictionaryArray.from_arrays(encoded.indices, _text_or_none(encoded.dictionary))
    return _text_or_none(values)


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


# why a known customer has no usable purchase (the tier table shows a status, not a tier)
NO_PURCHASE_STATUSES = ("all_rows_rejected", "only_refunds", "only_free_orders", "never_bought")
NO_PURCHASE_COLUMNS = (
    "customer_id",
    "status",
    "rejected_rows",
    "reject_reasons",
    "in_customer_table",
)


def customers_without_purchase(
    ids: pa.Array,
    customer: np.ndarray,
    reason: np.ndarray,
    amount: np.ndarray,
    customer_table_ids: pd.Series,
) -> pd.DataFrame:
    """Customers the input knows who have no usable purchase, one row each, by customer id.

    `ids` are the distinct customer ids in id order, and per transaction row `customer` is the
    position of its id there (-1: none), `reason` the code of why it was rejected (0: kept; see
    REASON_CODES) and `amount` its amount. A customer is listed when none of their kept rows is
    a purchase:
    `all_rows_rejected` (they have rows, every one rejected: e.g. only zero-amount purchases),
    `only_refunds` (their kept rows are refunds, perhaps beside free orders), `only_free_orders`
    (their kept rows are zero-amount orders, kept by `data.drop_zero_amounts: false`), or
    `never_bought` (in the customer table without a transaction row). `rejected_rows` and
    `reject_reasons` ("zero amount × 3; …") summarise their rejected transaction rows.
    """
    kept = reason == 0
    with np.errstate(invalid="ignore"):
        # purchase, refund, free order, rejected
        kind = np.where(kept, np.select([amount > 0, amount < 0], [0, 1], 2), 3)
    # per customer (and first, rows without an id), whether they have rows of each kind
    has = np.bincount((customer + 1) * 4 + kind, minlength=4 * (len(ids) + 1)) > 0
    bought, refunded, free, rejected = has.reshape(-1, 4)[1:].T
    refunds_only = refunded & ~bought
    free_only = free & ~refunded & ~bought
    rejected_only = rejected & ~free & ~refunded & ~bought
    listed = np.flatnonzero(refunds_only | free_only | rejected_only)
    table_ids = raw_input.text_array(customer_table_ids)
    position = pc.index_in(table_ids, value_set=ids)  # missing: not among the transactions' ids
    never_bought = table_ids.filter(pc.is_null(position))
    listed_ids = pa.concat_arrays([ids.take(listed), never_bought])
    by_id = pc.sort_indices(listed_ids).to_numpy()
    status = np.r_[
        np.select(
            [refunds_only[listed], free_only[listed]],
            ["only_refunds", "only_free_orders"],
            "all_rows_rejected",
        ),
        np.full(len(never_bought), "never_bought"),
    ]

    is_listed = np.zeros(len(ids) + 1, dtype=bool)  # the last: no id
    is_listed[listed] = True
    dropped = np.flatnonzero(~kept & is_listed[customer])  # a row without an id: not listed
    summary = (
        pd.DataFrame({"code": customer[dropped], "reason": REASON_TEXT[reason[dropped]]})
        .groupby(["code", "reason"], sort=True)
        .size()
        .reset_index(name="n")
    )
    summary["text"] = summary["reason"] + " × " + summary["n"].astype(str)
    reasons = summary.groupby("code")["text"].agg("; ".join)
    n_rejected = summary.groupby("code")["n"].sum()
    codes = np.r_[listed, np.full(len(never_bought), -1)]
    table = pd.DataFrame(
        {
            "customer_id": pd.Series(listed_ids.to_pandas(), dtype="str"),
            "status": pd.Series(status, dtype="str"),
            "rejected_rows": n_rejected.reindex(codes, fill_value=0).to_numpy(dtype="int64"),
            "reject_reasons": reasons.reindex(codes, fill_value="")
            .to_numpy(dtype=object)
            .astype(str),
            "in_customer_table": np.r_[
                np.isin(listed, pc.drop_null(position).to_numpy()),
                np.ones(len(never_bought), dtype=bool),
            ],
        }
    )
    return table.iloc[by_id].reset_index(drop=True)[list(NO_PURCHASE_COLUMNS)]


def _whole_rows(
    raw: pa.Table, bad: np.ndarray, reasons: np.ndarray, source: str, row_numbers: np.ndarray
) -> pd.DataFrame:
    """The user's rejected rows whole: every original column as text (mapped or not), plus the
    1-based data row, the reason (`reasons`: one per bad row) and the file. Nothing of a rejected
    row is lost."""
    positions = np.flatnonzero(bad)
    # a filter, not a take: Arrow takes from a chunked table by joining its chunks first
    rows = raw.filter(pa.array(bad)).to_pandas().astype("string")
    ours = (s.SOURCE_ROW, s.REJECT_REASON, s.SOURCE_FILE)
    rows = rows.rename(columns={c: f"{c} (original)" for c in ours if c in rows.columns})
    rows.insert(0, s.SOURCE_ROW, row_numbers[positions])
    # typed even when empty: the tables of several partitions stack into the same types
    rows[s.REJECT_REASON] = pd.Series(reasons, dtype="str")
    rows[s.SOURCE_FILE] = pd.Series(source, index=rows.index, dtype="str")
    return rows


def _text_or_none(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Stripped text; empty cells become missing."""
    text = pc.utf8_trim_whitespace(text)
    blank = pc.equal(text, "")
    if not pc.any(blank).as_py():
        return text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def _prepare_customers(
    raw: pd.DataFrame | pa.Table | None,
    cfg: DataConfig,
    source: str,
    row_numbers: np.ndarray | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = pd.DataFrame({s.CUSTOMER_ID: pd.Series(dtype=str)})
    if raw is None:
        return empty, pd.DataFrame()
    raw = raw_input.text_table(raw)
    columns = column_mapping(
        raw.column_names, cfg.customer_columns, (s.CUSTOMER_ID,), source, "data.customer_columns"
    )
    if row_numbers is None:
        row_numbers = np.arange(1, raw.num_rows + 1)
    ids = _text_or_none(raw[columns[s.CUSTOMER_ID]])
    reason = np.full(raw.num_rows, None, dtype=object)
    reason[pc.is_null(ids).to_numpy(zero_copy_only=False)] = REASONS["missing_customer_id"]
    repeated = ids.to_pandas().duplicated(keep="first").to_numpy()
    reason[repeated & pd.isna(reason)] = REASONS["duplicate_customer"]
    good = pd.isna(reason)
    attributes = [c for c in s.ATTRIBUTE_COLUMNS if c in columns]
    kept = {s.CUSTOMER_ID: ids.filter(good)}
    kept |= {c: _text_or_none(raw[columns[c]]).filter(good) for c in attributes}
    customers = _frame(kept).sort_values(s.CUSTOMER_ID, ignore_index=True)
    s.CLEAN_CUSTOMERS.validate(customers, inplace=True)
    return customers, _whole_rows(raw, ~good, reason[~good], source, row_numbers)
