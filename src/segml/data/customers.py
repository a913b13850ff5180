"""The customer table prepared: ids cleaned, each unusable row rejected whole with a reason (as a
transaction row is), the attributes parsed by type (`segml.data.attributes`) and, with
`data.customer_validity`, one row per customer and validity date.

`prepare_customers(raw, cfg, source)` is the whole job for any kind of export (transactions or
subscriptions); `segml.data.validate.prepare` runs its two steps itself, beside the transactions,
to merge id spellings across both files and to place a partition's rows in the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import contracts
from segml.data import schema as s
from segml.data.attributes import (
    customer_attributes,
    customer_mapping,
    parse_attribute,
    parse_dates,
)
from segml.data.files import SourceFiles, sources_of
from segml.data.parse import clean_ids, damaged_ids, id_repairs, respelled, text_or_none
from segml.data.raw import columns_frame, text_table
from segml.data.rejects import REASONS, whole_rows

ARROW = (pa.Array, pa.ChunkedArray)


@dataclass(frozen=True)
class CustomerTable:
    """The customer file as read, its mapped columns, and its ids cleaned (`clean_ids`)."""

    raw: pa.Table
    source: str
    columns: dict[str, object]  # canonical name -> the file's column, for those it has
    ids: pa.Array | pa.ChunkedArray


@dataclass(frozen=True)
class PreparedCustomers:
    customers: pd.DataFrame  # customer_id, each attribute by type[, valid_from]; by id (and date)
    rejected: pd.DataFrame  # the file's rejected rows, whole, with row, reason and file
    quality: dict = field(default_factory=dict)  # see `_quality`
    repaired: dict[str, int] = field(default_factory=dict)  # rows whose id was repaired, by kind


def prepare_customers(
    raw: pd.DataFrame | pa.Table | None, cfg: DataConfig, source: str = "customers"
) -> PreparedCustomers:
    """The raw customer table (every column as text) as the clean, typed table, its rejected rows
    and its quality figures. A mapped column the file lacks stops or warns with the closest
    header (`data.on_missing_column`; the id always stops)."""
    table = customer_table(raw, cfg, source, cfg.on_missing_column)
    return prepared_customers(table, cfg, (sources_of(raw) if raw is not None else None, None))


def customer_table(
    raw: pd.DataFrame | pa.Table | None, cfg: DataConfig, source: str, on_missing: str
) -> CustomerTable | None:
    """The file read as text and its columns mapped (`validate.column_mapping`); None: no file."""
    from segml.data.validate import column_mapping  # the mapping rules are the transactions'

    if raw is None:
        return None
    raw = text_table(raw)
    mapping = customer_mapping(cfg)
    validity = {s.VALID_FROM: mapping.pop(s.VALID_FROM)} if s.VALID_FROM in mapping else {}
    columns = column_mapping(
        raw.column_names, mapping, (s.CUSTOMER_ID,), source, "data.customer_columns", on_missing
    )
    if validity:  # a history's dates: a missing column is no history (said as for any column)
        names = raw.column_names
        columns |= column_mapping(names, validity, (), source, "data.customer_validity", on_missing)
    return CustomerTable(raw, source, columns, clean_ids(raw[columns[s.CUSTOMER_ID]]))


def prepared_customers(
    table: CustomerTable | None,
    cfg: DataConfig,
    place: tuple[SourceFiles | None, np.ndarray | None] = (None, None),
    merged: tuple[pa.Array, pa.Array] | None = None,
) -> PreparedCustomers:
    """The clean customer table from the mapped file. `place`: the input's files and (a
    partition) its rows' numbers in the input; `merged`: id spellings merged across files
    (`data.merge_id_case`)."""
    if table is None:
        return PreparedCustomers(
            pd.DataFrame({s.CUSTOMER_ID: pd.Series(dtype=str)}), pd.DataFrame()
        )
    raw, columns = table.raw, table.columns
    sources = place[0] or SourceFiles.single(table.source, raw.num_rows)
    row_numbers = place[1] if place[1] is not None else np.arange(1, raw.num_rows + 1)
    file_of, row_in_file = sources.locate(row_numbers)
    ids = respelled(table.ids, merged)
    since = _validity(raw, columns, cfg)
    reason = _reasons(ids, since)
    good = pd.isna(reason)
    attributes = [a for a in customer_attributes(cfg.customer_columns) if a.name in columns]
    kept, unreadable = {s.CUSTOMER_ID: ids.filter(good)}, {}
    for attribute in attributes:
        values, bad = parse_attribute(raw[columns[attribute.name]], attribute, cfg)
        kept[attribute.name] = values.filter(good) if isinstance(values, ARROW) else values[good]
        if bad[good].any():  # a gap, not a reason to drop the customer
            unreadable[attribute.column] = int(bad[good].sum())
    if since is not None:
        kept[s.VALID_FROM] = since[good]
    order = [s.CUSTOMER_ID] + ([s.VALID_FROM] if since is not None else [])
    customers = columns_frame(kept).sort_values(
        order, ignore_index=True, na_position="first", kind="stable"
    )
    types = {a.name: a.type for a in attributes}
    contracts.clean_customers(types, history=since is not None).validate(customers, inplace=True)
    names = np.asarray(sources.names, dtype=object)
    rejected = whole_rows(raw, ~good, reason[~good], names[file_of[~good]], row_in_file)
    raw_ids = raw[columns[s.CUSTOMER_ID]]
    repairs = id_repairs(
        raw_ids.combine_chunks() if isinstance(raw_ids, pa.ChunkedArray) else raw_ids
    )
    return PreparedCustomers(
        customers,
        rejected,
        _quality(customers, unreadable, cfg, history=since is not None),
        {kind: int(mask.sum()) for kind, mask in repairs.items()},
    )


_UNREADABLE_DATE = np.datetime64("0001-01-01", "s")  # a validity date written but not a date


def _validity(raw: pa.Table, columns: dict, cfg: DataConfig) -> np.ndarray | None:
    """Each row's validity date (NaT: blank, valid from the beginning; `_UNREADABLE_DATE`: its
    row cannot be placed in the history and is rejected), or None without
    `data.customer_validity`."""
    if s.VALID_FROM not in columns:
        return None
    text = text_or_none(raw[columns[s.VALID_FROM]])
    dates = parse_dates(text, cfg)
    written = pc.is_valid(text).to_numpy(zero_copy_only=False)
    return np.where(written & np.isnat(dates), _UNREADABLE_DATE, dates)


def _reasons(ids: pa.Array | pa.ChunkedArray, since: np.ndarray | None) -> np.ndarray:
    """Per row, why it cannot be used (the first reason), or None."""
    reason = np.full(len(ids), None, dtype=object)
    reason[damaged_ids(ids)] = REASONS["damaged_customer_id"]
    reason[pc.is_null(ids).to_numpy(zero_copy_only=False)] = REASONS["missing_customer_id"]
    if since is None:
        repeated = ids.to_pandas().duplicated(keep="first").to_numpy()
    else:
        reason[(since == _UNREADABLE_DATE) & pd.isna(reason)] = REASONS["bad_valid_from"]
        key = pd.DataFrame({"id": ids.to_pandas(), "since": since})
        repeated = key.duplicated(keep="first").to_numpy()
    reason[repeated & pd.isna(reason)] = REASONS["duplicate_customer"]
    return reason


def _quality(customers: pd.DataFrame, unreadable: dict, cfg: DataConfig, history: bool) -> dict:
    """The customer table's own data-quality figures, where they apply (none for plain category
    attributes without a history, as before they existed): values that could not be read per
    column, and customers with more than one row of attributes."""
    out = {}
    if any(a.typed for a in customer_attributes(cfg.customer_columns)):
        out["attribute_values_unreadable"] = unreadable
    if history:
        repeated = customers[s.CUSTOMER_ID].duplicated()
        out["customers_with_attribute_history"] = int(
            customers.loc[repeated, s.CUSTOMER_ID].nunique()
        )
    return out
