"""Customer attributes of any name: `data.customer_columns` read once into typed records, and the
customer file's attribute columns parsed by their type.

A plain entry (`region: 地区`) is a category, as the six names of the demo always were; a mapping
(`credit_grade: {column: 信用等级, type: category, en: credit grade, zh: 信用等级}`) names its
type (`config.ATTRIBUTE_TYPES`: category, number, date, yes_no) and the words reasons and charts
say it with. A value that cannot be read as its type (员工人数 "约50") is a gap, counted per
column in the data-quality figures (`attribute_values_unreadable`), never a rejected customer.
`data.customer_validity.valid_from` makes the customer table a history: one row per customer and
validity date, a row without a date valid from the beginning (docs/design-subscriptions.md §1, §3).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.parse import parse_amounts, parse_timestamps, text_or_none
from segml.errors import ConfigError

PREFIX = "attr_"  # a feature made of an attribute: attr_<name> (a date: attr_<name>_days)


@dataclass(frozen=True)
class Attribute:
    """One customer attribute: its canonical name, the user's column, its type and its words."""

    name: str
    column: str
    type: str = "category"  # category | number | date | yes_no
    en: str | None = None  # e.g. "credit grade"; None: the configured phrases name it (the six)
    zh: str | None = None

    @property
    def feature(self) -> str:
        """The model feature it becomes: `attr_<name>`, or for a date `attr_<name>_days` (the days
        from the date to the cutoff)."""
        return f"{PREFIX}{self.name}_days" if self.type == "date" else f"{PREFIX}{self.name}"

    @property
    def typed(self) -> bool:
        """Configured as a mapping (words of its own), not as a plain column name."""
        return self.en is not None or self.zh is not None or self.type != "category"


def customer_attributes(customer_columns: dict) -> tuple[Attribute, ...]:
    """Every attribute `data.customer_columns` maps (not the customer id, not a null entry), in
    config order. Checked by `segml.config` already (types, keys)."""
    found = []
    for name, spec in customer_columns.items():
        if name == s.CUSTOMER_ID or spec is None:
            continue
        if isinstance(spec, dict):
            words = {k: str(spec[k]) for k in ("en", "zh") if spec.get(k) is not None}
            kind = spec.get("type") or "category"
            found.append(Attribute(str(name), str(spec["column"]), kind, **words))
        else:
            found.append(Attribute(str(name), str(spec)))
    return tuple(found)


def valid_from_column(cfg: DataConfig) -> str | None:
    """The user's validity-date column (`data.customer_validity.valid_from`), or None."""
    column = (cfg.customer_validity or {}).get("valid_from")
    return None if column is None else str(column)


def customer_mapping(cfg: DataConfig) -> dict[str, object]:
    """Canonical name -> the user's column for the customer file: the id, every attribute and the
    validity date (what `validate.column_mapping` checks against the file's header)."""
    mapping: dict[str, object] = {s.CUSTOMER_ID: cfg.customer_columns.get(s.CUSTOMER_ID)}
    mapping |= {a.name: a.column for a in customer_attributes(cfg.customer_columns)}
    if valid_from_column(cfg) is not None:
        mapping[s.VALID_FROM] = valid_from_column(cfg)
    return mapping


def needs_whole_table(cfg: DataConfig) -> bool:
    """Typed attributes or a history: read on the local engine only (stops the Dask engine)."""
    return valid_from_column(cfg) is not None or any(
        a.typed for a in customer_attributes(cfg.customer_columns)
    )


def check_partitioned(cfg: DataConfig) -> None:
    """The Dask engine prepares the customer table per partition and knows plain category
    attributes only: typed ones or a validity history stop here, naming the setting."""
    if needs_whole_table(cfg):
        typed = [a.name for a in customer_attributes(cfg.customer_columns) if a.typed]
        raise ConfigError(
            "engine=dask reads plain category attributes only: "
            + (f"data.customer_columns types {typed}" if typed else "")
            + (" and " if typed and valid_from_column(cfg) else "")
            + ("data.customer_validity" if valid_from_column(cfg) else "")
            + " need engine=local (or write those attributes as plain column names)."
        )


def parse_attribute(
    text: pa.Array | pa.ChunkedArray, attribute: Attribute, cfg: DataConfig
) -> tuple[pa.Array | np.ndarray, np.ndarray]:
    """One attribute column's values by its type, and per row whether a written value could not
    be read (a gap, counted). Categories stay text (blank: missing); numbers are floats (currency
    symbols and separators as for amounts); dates are days (datetime64[s], midnight); yes/no is
    1.0 / 0.0 from `data.yes_words` / `data.no_words` (any case), NaN otherwise."""
    words = text_or_none(text)
    written = pc.is_valid(words).to_numpy(zero_copy_only=False)
    if attribute.type == "category":
        return words, np.zeros(len(written), dtype=bool)
    if attribute.type == "number":
        values = parse_amounts(words, cfg)
        return values, written & np.isnan(values)
    if attribute.type == "date":
        values = parse_dates(words, cfg)
        return values, written & np.isnat(values)
    folded = pc.utf8_lower(pc.utf8_trim_whitespace(words))
    yes = pc.is_in(folded, pa.array([str(w).strip().lower() for w in cfg.yes_words]))
    no = pc.is_in(folded, pa.array([str(w).strip().lower() for w in cfg.no_words]))
    yes, no = (pc.fill_null(m, False).to_numpy(zero_copy_only=False) for m in (yes, no))
    values = np.where(yes, 1.0, np.where(no, 0.0, np.nan))
    return values, written & np.isnan(values)


def parse_dates(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """Dates as days (datetime64[s] at midnight, NaT where unreadable): the transactions' time
    format first, then ISO dates for what it leaves (a date-only column beside stamps with a
    clock time)."""
    values = parse_timestamps(text, cfg)
    if cfg.timestamp_format is not None and np.isnat(values).any():
        missing = np.flatnonzero(np.isnat(values))
        rest = pc.take(text, pa.array(missing))
        values[missing] = parse_timestamps(rest, replace(cfg, timestamp_format=None))
    return values.astype("datetime64[D]").astype("datetime64[s]")
