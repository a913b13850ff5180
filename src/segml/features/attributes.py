"""Customer attributes as of a cutoff: the clean customer table indexed by customer code, and each
attribute's feature at each cutoff from the row valid then (point in time).

A row holds from its validity date (`valid_from`; none: from the beginning) until the customer's
next row, so a feature at a cutoff never reads a row dated after it. Without validity dates each
customer has one row, valid at every cutoff. Features (`segml.data.attributes.Attribute.feature`):
a category is a categorical `attr_<name>` over the vocabulary's levels; a number or a yes/no
(1/0) is a float `attr_<name>`; a date is `attr_<name>_days`, the days from it to the cutoff
(missing when it lies after the cutoff).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.data import schema as s
from segml.data.attributes import PREFIX
from segml.features.levels import Levels, text_levels

NO_DATE = np.iinfo(np.int64).min  # a row without a validity date holds from the beginning


@dataclass(frozen=True)
class AttributeTable:
    """The customer table's rows of customers who have transactions, sorted by customer code and
    validity day: each attribute's values per row."""

    code: np.ndarray = field(default_factory=lambda: np.array([], np.int64))  # per row
    since: np.ndarray = field(default_factory=lambda: np.array([], np.int64))  # day number
    customers: int = 0  # customer codes in the index
    categories: dict[str, Levels] = field(default_factory=dict)  # per row; every level named
    numbers: dict[str, np.ndarray] = field(default_factory=dict)  # numbers and yes/no (1.0/0.0)
    dates: dict[str, np.ndarray] = field(default_factory=dict)  # day numbers (NaN: none)

    @property
    def measures(self) -> dict[str, str]:
        """The attributes that are no category: name -> "number" (also yes/no) or "date"."""
        return {n: "number" for n in self.numbers} | {n: "date" for n in self.dates}

    def rows_at(self, day: int, customers: np.ndarray) -> np.ndarray:
        """Per customer code, the row valid on `day` (the latest dated on or before it), or -1."""
        valid = self.since <= day
        count = np.bincount(self.code[valid], minlength=self.customers)
        first = np.searchsorted(self.code, np.arange(self.customers), side="left")
        row = np.where(count > 0, first + count - 1, -1)  # a customer's rows ascend by day
        return row[customers]


def attribute_table(ids: pa.ChunkedArray, customers: pd.DataFrame | None) -> AttributeTable:
    """The customer table (`segml.data.customers`) aligned to the index's customer codes (`ids`:
    the ids by code). Levels are every value in the whole table, as before attributes had types."""
    if customers is None:
        return AttributeTable(customers=len(ids))
    table_ids = pa.chunked_array([pa.array(customers[s.CUSTOMER_ID].astype("str"))])
    code = pc.fill_null(pc.index_in(table_ids, value_set=ids.combine_chunks()), -1)
    code = code.to_numpy().astype(np.int64)
    since = np.full(len(customers), NO_DATE, np.int64)
    if s.VALID_FROM in customers:
        days = _days(customers[s.VALID_FROM])
        since[~np.isnan(days)] = days[~np.isnan(days)].astype(np.int64)
    order = np.lexsort((since, code))
    order = order[code[order] >= 0]  # customers without transactions get no features
    categories, numbers, dates = {}, {}, {}
    for column in customers.columns:
        if column in (s.CUSTOMER_ID, s.VALID_FROM):
            continue
        values = customers[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            dates[column] = _days(values)[order]
        elif pd.api.types.is_numeric_dtype(values):
            numbers[column] = values.to_numpy(dtype=float, na_value=np.nan)[order]
        else:
            levels = text_levels(values)
            categories[column] = Levels(levels.codes[order], levels.names)
    return AttributeTable(code[order], since[order], len(ids), categories, numbers, dates)


def _days(values: pd.Series) -> np.ndarray:
    """Dates as day numbers since 1970-01-01 (float; NaN where missing)."""
    days = values.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
    return np.where(np.isnat(days), np.nan, days.view(np.int64).astype(float))


def attribute_columns(
    table: AttributeTable,
    levels: dict[str, list[str]],
    measures: dict[str, str],
    cutoffs: list[tuple[int, np.ndarray]],
) -> dict[str, object]:
    """Each attribute's feature column over the stacked cutoffs (`cutoffs`: each cutoff day and its
    customer codes, in order): categoricals over the vocabulary's `levels`, then the `measures`
    (name -> "number" or "date") as floats. An attribute the vocabulary knows but the table lacks
    (scoring without a customer file) is missing."""
    rows = np.concatenate([table.rows_at(day, who) for day, who in cutoffs] or [[]]).astype(int)
    out: dict[str, object] = {}
    for name, names in levels.items():
        codes = np.full(len(rows), -1, np.int64)
        if name in table.categories:
            codes = np.r_[table.categories[name].recode(names), -1][rows]
        out[f"{PREFIX}{name}"] = pd.Categorical.from_codes(codes, categories=names)
    for name, kind in measures.items():
        source = table.dates if kind == "date" else table.numbers
        values = np.r_[source.get(name, np.full(len(table.code), np.nan)), np.nan][rows]
        if kind == "date":
            day = np.repeat([d for d, _ in cutoffs], [len(w) for _, w in cutoffs])
            with np.errstate(invalid="ignore"):
                values = np.where(values <= day, day - values, np.nan)
            out[f"{PREFIX}{name}_days"] = values
        else:
            out[f"{PREFIX}{name}"] = values
    return out
