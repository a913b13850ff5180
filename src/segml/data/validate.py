"""Prepare: map the user's columns, parse, validate, deduplicate. Nothing is silently dropped.

Every row that cannot be used goes to the rejected table with its original text, the file it came
from, its 1-based data row number in that file and one reason; good rows go on. Rows that are no
transaction (empty, total and note rows) and rows after `as_of` are counted, not rejected.
`prepare` reads as its steps: map the columns, parse them (`segml.data.parse`), find the export's
end (`segml.data.period`), give each row its reason or say why it is outside
(`segml.data.rejects`), put the kept rows in order without duplicates, check the clean table
against the contract while the rejected rows and the customers without a usable purchase
(`segml.data.no_purchase`) are set aside, and count the data-quality figures
(`segml.data.quality`), so that input rows = kept + rejected + skipped + after the period.
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
from segml.data import contracts, customers
from segml.data import schema as s
from segml.data.files import SourceFiles, sources_of
from segml.data.no_purchase import customers_without_purchase
from segml.data.parse import (
    case_merged,
    case_variants,
    clean_ids,
    customer_codes,
    parse_amounts,
    parse_optional,
    parse_timestamps,
)
from segml.data.period import active_days, check_as_of, export_end, period_end
from segml.data.quality import check_usable, input_notes, quality_figures
from segml.data.raw import columns_frame, text_array, text_table
from segml.data.rejects import (
    REASON_CODES,
    REASON_TEXT,
    RowText,
    after_period,
    blank_where,
    is_rejected,
    last_content_rows,
    outside_codes,
    reject_codes,
    skipped_codes,
    total_texts,
    whole_rows,
)
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

    transaction_rows: np.ndarray  # 1-based data row in the transactions input (all files), per row
    customer_rows: np.ndarray | None  # the same in the customer input
    end: pd.Timestamp  # the end of the export (`export_end` over every partition's active days)
    timestamps: np.ndarray | None = None  # parsed already for the end (datetime64[ns])
    sources: SourceFiles | None = None  # the transactions input's files
    customer_sources: SourceFiles | None = None
    last_content: np.ndarray | None = None  # per file, its last row with a time or an amount


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
                header = "data.customers_header_row" if "customer" in key else "data.header_row"
                raise ContractError(
                    f"{source}: required column {theirs!r} (for {canonical}) not found.{guess} "
                    f"Columns in the file: {list(present)}. Set `{key}.{canonical}` in conf/data to "
                    f"the name of your column (and `{header}` to the header's 0-based row if "
                    "no row near the top holds the mapped names)."
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
    rows Arrow cannot judge alike (unusual timestamps, rows tied on customer and time). Rows
    after `as_of` are outside the period (counted); rows after the export's end are rejected as
    future-dated.

    `part`: these rows are one partition of the files (`segml.data.partitions`), with their row
    numbers in the input, its files, the export's end found over all partitions and, when that
    took them, their parsed timestamps."""
    raw = text_table(raw_transactions)
    sources = _sources(part.sources if part else sources_of(raw), transactions_source, raw)
    text = _mapped_columns(raw, cfg, transactions_source, empty_allowed=part is not None)
    rows = _parsed(text, raw_customers, cfg, customers_source, part)
    end = part.end if part else export_end(active_days(rows.ts), cfg.max_tail_gap_days)
    row_numbers = part.transaction_rows if part else np.arange(1, raw.num_rows + 1)
    file_of, row_in_file = sources.locate(row_numbers)
    reason = reject_codes(rows.customer, rows.ts, rows.amount, end, cfg, rows.damaged)
    found = _row_text(raw, text, rows, cfg, (file_of, row_in_file, sources), part)
    after = after_period(reason, rows.ts, period_end(as_of))
    # customers whose first purchase comes after the period are not of it (not even listed)
    later = np.unique(rows.customer[after & (reason == 0) & (rows.amount > 0)])
    reason = outside_codes(reason, after, skipped_codes(found))
    order = _deduplicated_order(reason, rows.customer, rows.ts, text, rows.optional.get(s.ORDER_ID))
    clean = _clean_transactions(rows, order)
    where = (np.asarray(sources.names, dtype=object), file_of, row_in_file)
    rejected, no_purchase = _checked_and_set_aside(clean, rows, reason, raw, where, cfg, later)
    quality = quality_figures(
        reason,
        (clean, rows.customer[order]),
        rows,
        no_purchase,
        (sources, end, as_of),
        cfg,
        whole=part is None,
    )
    quality |= rows.customer_quality  # typed attributes and a history only
    if not part:  # a partition may hold no usable row; the files as a whole must
        check_usable(quality, transactions_source)
        check_as_of(as_of, quality["last_date"], cfg)  # stops when as_of is far past the data
        quality["notes"] = input_notes(quality, cfg)
    return Prepared(clean, rows.customers, rejected, quality, no_purchase)


def _sources(found: SourceFiles | None, name: str, raw: pa.Table) -> SourceFiles:
    """The input's files (a table not read by `segml.data.raw` is one file named `name`)."""
    return found or SourceFiles.single(name, raw.num_rows)


@dataclass(frozen=True)
class _Parsed:
    """The transactions file's mapped columns parsed (one value per row), and the customer file
    prepared."""

    ts: np.ndarray  # datetime64[ns]; NaT where unparseable
    amount: np.ndarray  # float; NaN where unparseable
    ids: pa.Array  # the distinct customer ids, in id order
    customer: np.ndarray  # per row, the position of its id in `ids` (-1: missing or damaged)
    damaged: np.ndarray  # per row, whether a spreadsheet turned its id into a number
    optional: dict  # the optional columns present, parsed (`parse_optional`), in schema order
    customers: pd.DataFrame  # the clean customer table
    rejected_customers: pd.DataFrame  # the customer file's rejected rows, whole
    ids_repaired: dict  # rows whose id `clean_ids` repaired, by kind (both files)
    case_variants: int  # customers written in more than one letter case (before any merge)
    customer_quality: dict  # the customer table's own figures (`customers.PreparedCustomers`)


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
    (Arrow compute and numpy release the GIL). A partition's timestamps may be parsed already.
    Ids that differ only in letter case are counted across both files and, with
    `data.merge_id_case`, spelt alike first."""
    parsed = part.timestamps if part else None
    customer_table = customers.customer_table(
        raw_customers, cfg, customers_source, _on_missing(cfg, whole=part is None)
    )
    merged, variants = None, None
    if cfg.merge_id_case:
        spellings = [clean_ids(pc.unique(text[s.CUSTOMER_ID]))]
        if customer_table is not None:
            spellings.append(customer_table.ids)
        variants = case_variants(*spellings)
        merged = case_merged(*spellings)
    work = at_once(
        {
            s.TS: lambda: parse_timestamps(text[s.TS], cfg) if parsed is None else parsed,
            s.CUSTOMER_ID: lambda: customer_codes(text[s.CUSTOMER_ID], merged),
            s.AMOUNT: lambda: parse_amounts(text[s.AMOUNT], cfg),
            "customers": lambda: customers.prepared_customers(
                customer_table, cfg, _customer_rows(raw_customers, part), merged
            ),
            **{
                c: partial(parse_optional, c, text[c], cfg.negatives)
                for c in _OPTIONAL
                if c in text
            },
        }
    )
    ts, amount = work.pop(s.TS), work.pop(s.AMOUNT)
    ids = work.pop(s.CUSTOMER_ID)
    table = work.pop("customers")
    if variants is None:
        variants = case_variants(
            ids.ids, text_array(table.customers[s.CUSTOMER_ID].drop_duplicates())
        )
    repaired = {k: n + table.repaired.get(k, 0) for k, n in ids.repaired.items()}
    return _Parsed(
        ts,
        amount,
        ids.ids,
        ids.codes,
        ids.damaged,
        work,
        table.customers,
        table.rejected,
        repaired,
        variants,
        table.quality,
    )


def _customer_rows(
    raw_customers, part: Part | None
) -> tuple[SourceFiles | None, np.ndarray | None]:
    """The customer input's files and, for a partition, its rows' numbers in the input."""
    if part:
        return part.customer_sources, part.customer_rows
    return (sources_of(raw_customers) if raw_customers is not None else None), None


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
    return columns_frame(clean)


def _row_text(
    raw: pa.Table,
    text: dict[str, pa.ChunkedArray],
    rows: _Parsed,
    cfg: DataConfig,
    place: tuple[np.ndarray, np.ndarray, SourceFiles],
    part: Part | None,
) -> RowText:
    """What tells rows that are no transaction (`skipped_codes`). Only the few rows that did not
    parse are looked at as text."""
    file_of, row_in_file, sources = place
    id_blank = (rows.customer < 0) & ~rows.damaged
    total = np.zeros(len(rows.customer), dtype=bool)
    # a total label in the id cell (judged once per distinct id), or, where the id is blank, in
    # the first cell
    total[~id_blank] = _is_total(np.flatnonzero(~id_blank), rows.customer, rows.ids, cfg)
    # the mapping was checked (and warned about) when the columns were read
    id_column = column_mapping(
        raw.column_names, cfg.columns, (s.CUSTOMER_ID,), "transactions", "data.columns", "ignore"
    )[s.CUSTOMER_ID]
    blank_rows = np.flatnonzero(id_blank)
    if raw.column_names[0] != id_column and len(blank_rows):
        picked = raw.column(0).take(pa.array(blank_rows, pa.int64()))
        total[blank_rows] = total_texts(picked.combine_chunks(), cfg.total_labels)
    ts_blank = blank_where(text[s.TS], np.isnat(rows.ts))
    amount_blank = blank_where(text[s.AMOUNT], np.isnan(rows.amount))
    last = part.last_content if part and part.last_content is not None else None
    if last is None:
        last = last_content_rows(
            ~(ts_blank & amount_blank), file_of, row_in_file, len(sources.names)
        )
    return RowText(id_blank, total, ts_blank, amount_blank, row_in_file > last[file_of])


def _is_total(at: np.ndarray, customer: np.ndarray, ids: pa.Array, cfg: DataConfig) -> np.ndarray:
    """For the rows `at` (with an id), whether the id is a total label: judged once per id."""
    labelled = total_texts(ids, cfg.total_labels)
    return labelled[customer[at]] if labelled.any() else np.zeros(len(at), dtype=bool)


def _checked_and_set_aside(
    clean: pd.DataFrame,
    rows: _Parsed,
    reason: np.ndarray,
    raw: pa.Table,
    where: tuple[np.ndarray, np.ndarray, np.ndarray],
    cfg: DataConfig,
    later: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The clean table checked against the contract while, side by side, the rejected rows (the
    transactions', then the customers') and the customers without a usable purchase are set
    aside; returns those two tables. `where`: the files' names, and per row its file and its row
    in that file; `later`: the customers whose first purchase comes after the period."""
    contract = (
        contracts.CLEAN_TRANSACTIONS
        if cfg.drop_zero_amounts
        else contracts.CLEAN_TRANSACTIONS_WITH_FREE_ORDERS
    )
    names, file_of, row_in_file = where
    bad = is_rejected(reason)
    outputs = at_once(
        {
            # checks only: no copy of the table
            "contract": lambda: contract.validate(clean, inplace=True),
            "rejected": lambda: whole_rows(
                raw,
                bad,
                REASON_TEXT[reason[bad]],
                names[0] if len(names) == 1 else names[file_of[bad]],
                row_in_file,
            ),
            "no_purchase": lambda: customers_without_purchase(
                rows.ids,
                rows.customer,
                reason,
                rows.amount,
                rows.customers[s.CUSTOMER_ID].drop_duplicates(),
                later,
            ),
        }
    )
    rejected = pd.concat([outputs["rejected"], rows.rejected_customers], ignore_index=True)
    rejected[s.SOURCE_ROW] = rejected[s.SOURCE_ROW].astype("int64")
    return rejected, outputs["no_purchase"]


def _in_order(values, order: np.ndarray):
    """A parsed column's rows in `order`; text as pandas holds it (large_string: the conversion
    to a DataFrame then copies nothing), labels as plain text again."""
    if isinstance(values, np.ndarray):
        return values[order]
    if isinstance(values, pa.DictionaryArray):
        return values.dictionary.cast(pa.large_string()).take(values.indices.take(order))
    # cast first: a take joins the chunks, and 32-bit offsets hold at most 2 GiB of text
    return values.cast(pa.large_string()).take(order)


def no_data_rows(source: str, columns: list) -> ContractError:
    return ContractError(
        f"{source} has a header but no data rows (columns: {columns}). Export it again with its "
        "rows, or point `paths.raw_transactions` at the right file."
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
