"""Prepare: map the user's columns, parse, validate, deduplicate. Nothing is silently dropped.

Every row that cannot be used goes to the rejected table with its original text, the file it came
from, its 1-based data row number and one reason; good rows go on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import schema as s


class ContractError(ValueError):
    """The input does not meet the data contract; the message says which column and what to do."""


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
    timestamps: pd.Series | None = None  # parsed already, when finding the end needed them


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


def map_columns(
    raw: pd.DataFrame, mapping: dict, required: tuple[str, ...], source: str, key: str
) -> pd.DataFrame:
    """Rename the user's columns to canonical names; a missing required column stops with advice."""
    present = {str(c).strip(): c for c in raw.columns}
    renamed = {}
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
        renamed[present[str(theirs)]] = canonical
    return raw[list(renamed)].rename(columns=renamed)


def parse_amount(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """'¥1,234.50', ' 1 234,50 ', '-99' -> float; anything else -> NaN."""
    # Arrow compute runs in C++; pandas' regex replace falls back to a Python loop per row
    cleaned = _arrow_text(text)
    for symbol in cfg.currency_symbols:
        cleaned = pc.replace_substring(cleaned, symbol, "")
    cleaned = pc.replace_substring_regex(cleaned, r"\s", "")
    if cfg.thousands_separator:
        cleaned = pc.replace_substring(cleaned, cfg.thousands_separator, "")
    if cfg.decimal != ".":
        cleaned = pc.replace_substring(cleaned, cfg.decimal, ".")
    return _to_number(cleaned, text.index)


# a plain decimal number (ASCII digits, optional sign, point and exponent); anything else is bad
_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"


def _to_number(text: pa.Array, index: pd.Index) -> pd.Series:
    """Text to float in Arrow, NaN where the text is not a plain number (as pd.to_numeric with
    errors="coerce", without its Python loop; "inf" is not a number here either)."""
    plain = pc.if_else(
        pc.match_substring_regex(text, _NUMBER),
        pc.utf8_trim_whitespace(text),
        pa.scalar(None, pa.string()),
    )
    values = pc.cast(plain, pa.float64()).to_numpy(zero_copy_only=False)
    return pd.Series(values, index=index, dtype=float)


def _arrow_text(text: pd.Series) -> pa.Array:
    """The column as an Arrow string array (zero-copy for Arrow-backed text)."""
    return pa.array(text.astype("string"), type=pa.string())


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
        parsed = parsed.copy()
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
    text = text.astype("string").str.strip()
    if cfg.timestamp_format in EPOCH_UNITS or cfg.timestamp_format == EXCEL_FORMAT:
        return _numeric_timestamp(text, cfg)
    # an offset only counts after a clock time, so day-first dates like 31-12-2024 stay local
    offset = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2})$"
    zoned = pd.Series(
        pc.fill_null(pc.match_substring_regex(_arrow_text(text), offset), False).to_numpy(
            zero_copy_only=False
        ),
        index=text.index,
    )
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    out[~zoned] = _to_datetime(text[~zoned], cfg, utc=False).astype("datetime64[ns]")
    if zoned.any():
        local = (
            _to_datetime(text[zoned], cfg, utc=True)
            .dt.tz_convert(cfg.timezone or "UTC")
            .dt.tz_localize(None)
        )
        out[zoned] = local.astype("datetime64[ns]")
    return out


def active_days(ts: pd.Series) -> np.ndarray:
    """The distinct days with a parseable timestamp, sorted."""
    return np.sort(ts.dropna().dt.normalize().unique())


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
    raw_transactions: pd.DataFrame,
    raw_customers: pd.DataFrame | None,
    cfg: DataConfig,
    as_of: str | None = None,
    transactions_source: str = "transactions",
    customers_source: str = "customers",
    part: Part | None = None,
) -> Prepared:
    """Validate and clean raw tables (all columns as text) into typed canonical tables.

    `part`: these rows are one partition of the files (`segml.data.partitions`), with their row
    numbers in the file, the export's end found over all partitions and, when that took them,
    their parsed timestamps."""
    tx_text = map_columns(
        raw_transactions,
        cfg.columns,
        s.REQUIRED_TRANSACTION_COLUMNS,
        transactions_source,
        "data.columns",
    )
    if tx_text.empty and not part:  # a partition may be empty; the file may not
        raise no_data_rows(transactions_source, list(raw_transactions.columns))
    tx_rows = part.transaction_rows if part else np.arange(1, len(tx_text) + 1)
    tx_text.insert(0, s.SOURCE_ROW, tx_rows)

    customer_id = tx_text[s.CUSTOMER_ID].astype("string").str.strip()
    customer = pd.factorize(customer_id, sort=True)[0]  # one code per customer, in id order
    parsed = part.timestamps if part else None
    ts = parse_timestamp(tx_text[s.TS], cfg) if parsed is None else parsed
    amount = parse_amount(tx_text[s.AMOUNT], cfg)
    if part:
        end = part.end
    elif as_of:
        end = end_of_day(pd.Timestamp(as_of))
    else:
        end = export_end(active_days(ts), cfg.max_tail_gap_days)

    reason = pd.Series(pd.NA, index=tx_text.index, dtype="string")

    def reject(mask, key: str) -> None:
        reason[mask & reason.isna()] = REASONS[key]

    reject(customer_id.isna() | (customer_id == ""), "missing_customer_id")
    reject(ts.isna(), "bad_timestamp")
    reject(amount.isna(), "bad_amount")
    if cfg.drop_zero_amounts:
        reject(amount == 0, "zero_amount")
    reject(amount.abs() > cfg.max_abs_amount, "absurd_amount")
    reject(ts > end, "future")
    reject(
        _exact_duplicates(tx_text.drop(columns=[s.SOURCE_ROW]), customer, ts, amount),
        "duplicate",
    )

    good = reason.isna().to_numpy()
    clean = pd.DataFrame(
        {s.CUSTOMER_ID: customer_id[good].astype(str), s.TS: ts[good], s.AMOUNT: amount[good]}
    )
    for column in s.OPTIONAL_TRANSACTION_COLUMNS:
        if column in tx_text:
            if column == s.QUANTITY:
                quantity = tx_text.loc[good, column]
                clean[column] = _to_number(_arrow_text(quantity), quantity.index)
            else:
                clean[column] = _text_or_none(tx_text.loc[good, column])
    clean = _sorted(clean, customer[good])
    s.CLEAN_TRANSACTIONS.validate(clean)

    rejected = _whole_rows(raw_transactions, ~good, reason, transactions_source, tx_rows)
    customers, rejected_customers = _prepare_customers(
        raw_customers, cfg, customers_source, part.customer_rows if part else None
    )
    rejected = pd.concat([rejected, rejected_customers], ignore_index=True)
    rejected[s.SOURCE_ROW] = rejected[s.SOURCE_ROW].astype("int64")
    no_purchase = customers_without_purchase(customer_id, reason, amount, customers[s.CUSTOMER_ID])

    quality = {
        "rows_read": int(len(tx_text)),
        "rows_clean": int(len(clean)),
        "rows_rejected": int((~good).sum()),
        "rejected_share": float((~good).mean()) if len(tx_text) else 0.0,
        "rejected_by_reason": {
            code: int((reason == text).sum())
            for code, text in REASONS.items()
            if (reason == text).any()
        },
        "customers_with_transactions": int(clean[s.CUSTOMER_ID].nunique()),
        "customers_in_attribute_table": int(len(customers)),
        "refund_rows": int((clean[s.AMOUNT] < 0).sum()),
        "first_date": str(clean[s.TS].min().date()) if len(clean) else None,
        "last_date": str(clean[s.TS].max().date()) if len(clean) else None,
    }
    quality["customers_without_purchase"] = {
        status: int((no_purchase["status"] == status).sum()) for status in NO_PURCHASE_STATUSES
    }
    if not part:  # a partition may hold no usable row; the files as a whole must
        check_usable(quality, transactions_source)
    return Prepared(clean, customers, rejected, quality, no_purchase)


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


def _exact_duplicates(
    original: pd.DataFrame, customer: np.ndarray, ts: pd.Series, amount: pd.Series
) -> np.ndarray:
    """Rows identical in every mapped column to an earlier row. Identical rows parse alike, so
    only rows sharing customer, time and amount are compared in full (a few %, not millions)."""
    parsed = pd.DataFrame(
        {
            "customer": customer,
            "ts": ts.to_numpy().view("int64"),
            "amount": amount.to_numpy(),
        }
    )
    candidates = parsed.duplicated(keep=False).to_numpy()
    out = np.zeros(len(original), dtype=bool)
    out[candidates] = original[candidates].duplicated(keep="first").to_numpy()
    return out


def _sorted(clean: pd.DataFrame, customer: np.ndarray | None = None) -> pd.DataFrame:
    """By customer, time and order id, ties in input order. Rows are sorted on integers (the
    customer's rank among the distinct ids, the time); order ids, text, are compared only among
    the few rows that share customer and time. Several times faster than sorting on text keys.
    Clean rows only: every row has a customer id and a naive timestamp. `customer`: codes that
    follow id order, when the caller has them already."""
    if customer is None:
        customer = pd.factorize(clean[s.CUSTOMER_ID], sort=True)[0]
    ts = clean[s.TS].to_numpy().view("int64")
    order = np.lexsort((ts, customer))  # stable: ties keep input order
    if s.ORDER_ID in clean:
        same = (customer[order][1:] == customer[order][:-1]) & (ts[order][1:] == ts[order][:-1])
        tied = np.flatnonzero(np.r_[False, same] | np.r_[same, False])  # positions in `order`
        if len(tied):
            group = np.cumsum(~np.r_[False, same])[tied]  # runs of one customer and time
            ties = pa.table(
                {
                    "group": group,
                    "order_id": pa.array(clean[s.ORDER_ID].iloc[order[tied]], from_pandas=True),
                    "position": tied,
                }
            )
            keys = [(key, "ascending", "at_end") for key in ("group", "order_id", "position")]
            within = pc.sort_indices(ties, sort_keys=keys)
            order[tied] = order[tied][within.to_numpy()]
    return clean.take(order).reset_index(drop=True)


# why a known customer has no usable purchase (the tier table shows a status, not a tier)
NO_PURCHASE_STATUSES = ("all_rows_rejected", "only_refunds", "never_bought")
NO_PURCHASE_COLUMNS = (
    "customer_id",
    "status",
    "rejected_rows",
    "reject_reasons",
    "in_customer_table",
)


def customers_without_purchase(
    customer_id: pd.Series, reason: pd.Series, amount: pd.Series, customer_table_ids: pd.Series
) -> pd.DataFrame:
    """Customers the input knows who have no usable purchase, one row each, by customer id.

    `customer_id`, `reason` (missing = kept) and `amount` are per transaction row; a customer is
    listed when none of their kept rows is a purchase: `all_rows_rejected` (they have rows, every
    one rejected: e.g. only zero-amount purchases), `only_refunds` (their kept rows are refunds), or
    `never_bought` (in the customer table without a transaction row). `rejected_rows` and
    `reject_reasons` ("zero amount × 3; …") summarise their rejected transaction rows.
    """
    has_id = (customer_id.notna() & (customer_id != "")).to_numpy(dtype=bool)
    kept = reason.isna().to_numpy() & has_id
    purchase = (amount > 0).to_numpy()
    dropped = has_id & ~kept
    refunded = _unique_text(customer_id[kept & ~purchase])
    rejected = pd.DataFrame({"id": customer_id[dropped], "reason": reason[dropped]})
    candidates = _unique_text(
        pd.concat([rejected["id"], pd.Series(refunded), customer_table_ids.astype("string")])
    )
    with_purchase = _unique_text(customer_id[kept & purchase])
    ids = candidates.filter(pc.invert(pc.is_in(candidates, value_set=with_purchase)))
    ids = ids.take(pc.sort_indices(ids))

    def member(values: pd.Series) -> np.ndarray:
        # arrow hashes in C++; pandas' isin on text loops in Python over its argument
        return pc.is_in(ids, value_set=_unique_text(values)).to_numpy(zero_copy_only=False)

    counts = rejected.groupby(["id", "reason"], sort=True).size()
    summary = counts.reset_index(name="n")
    summary["text"] = summary["reason"] + " × " + summary["n"].astype(str)
    reasons = summary.groupby("id")["text"].agg("; ".join)
    n_rejected = summary.groupby("id")["n"].sum()
    index = pd.Index(ids.to_pylist(), dtype="str")
    status = np.where(
        member(pd.Series(refunded)),
        "only_refunds",
        np.where(member(n_rejected.index.to_series()), "all_rows_rejected", "never_bought"),
    )
    table = pd.DataFrame(
        {
            "customer_id": pd.Series(index, dtype="str"),
            "status": pd.Series(status, dtype="str"),
            "rejected_rows": n_rejected.reindex(index, fill_value=0).to_numpy(dtype="int64"),
            "reject_reasons": reasons.reindex(index, fill_value="")
            .to_numpy(dtype=object)
            .astype(str),
            "in_customer_table": member(customer_table_ids),
        }
    )
    return table[list(NO_PURCHASE_COLUMNS)]


def _unique_text(values: pd.Series) -> pa.Array:
    """Distinct values as an arrow string array (fast hashing for large id columns)."""
    return pc.unique(pa.array(values.astype("string"), type=pa.string()))


def _whole_rows(
    raw: pd.DataFrame, bad: np.ndarray, reason: pd.Series, source: str, row_numbers: np.ndarray
) -> pd.DataFrame:
    """The user's rejected rows whole: every original column as text (mapped or not), plus the
    1-based data row, the reason and the file. Nothing of a rejected row is lost."""
    positions = np.flatnonzero(bad)
    rows = raw.iloc[positions].astype("string").reset_index(drop=True)
    rows.columns = [str(c) for c in rows.columns]
    ours = (s.SOURCE_ROW, s.REJECT_REASON, s.SOURCE_FILE)
    rows = rows.rename(columns={c: f"{c} (original)" for c in ours if c in rows.columns})
    rows.insert(0, s.SOURCE_ROW, row_numbers[positions])
    # typed even when empty: the tables of several partitions stack into the same types
    rows[s.REJECT_REASON] = pd.Series(reason.iloc[positions].to_numpy(), dtype="str")
    rows[s.SOURCE_FILE] = pd.Series(source, index=rows.index, dtype="str")
    return rows


def _text_or_none(col: pd.Series) -> pd.Series:
    """Stripped text; empty cells become missing."""
    col = col.astype("string").str.strip()
    return col.mask(col == "").astype("str")


def _prepare_customers(
    raw: pd.DataFrame | None, cfg: DataConfig, source: str, row_numbers: np.ndarray | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    empty = pd.DataFrame({s.CUSTOMER_ID: pd.Series(dtype=str)})
    if raw is None:
        return empty, pd.DataFrame()
    table = map_columns(
        raw, cfg.customer_columns, (s.CUSTOMER_ID,), source, "data.customer_columns"
    )
    if row_numbers is None:
        row_numbers = np.arange(1, len(table) + 1)
    table.insert(0, s.SOURCE_ROW, row_numbers)
    ids = table[s.CUSTOMER_ID].astype("string").str.strip()
    reason = pd.Series(pd.NA, index=table.index, dtype="string")
    reason[ids.isna() | (ids == "")] = REASONS["missing_customer_id"]
    reason[ids.duplicated(keep="first") & reason.isna()] = REASONS["duplicate_customer"]
    good = reason.isna().to_numpy()
    customers = pd.DataFrame({s.CUSTOMER_ID: ids[good].astype(str)})
    for column in s.ATTRIBUTE_COLUMNS:
        if column in table:
            customers[column] = _text_or_none(table.loc[good, column])
    customers = customers.sort_values(s.CUSTOMER_ID, ignore_index=True)
    s.CLEAN_CUSTOMERS.validate(customers)
    return customers, _whole_rows(raw, ~good, reason, source, row_numbers)
