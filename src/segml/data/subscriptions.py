"""Prepare for subscription exports (`data.kind: subscriptions`): the subscriptions table (spells),
optional usage events and payments, and the customer table, each mapped, parsed, checked row by
row and counted as the transaction reader does (docs/design-subscriptions.md, §4).

`prepare_subscriptions` reads as its steps: map each table's columns (`data.subscriptions`,
`data.usage`, `data.payments`: `{columns: {...}, <word maps>}`), find the export's end over the
active days of every table (starts, payments, usage: a payment retried on the last day is not
future-dated because the last start was earlier), prepare the spells (`segml.data.spells`) and
the event logs (`segml.data.subscription_events`), prepare the customer table with the
transaction reader's own function (`segml.data.validate`), list the customers without a usable
subscription (`never_subscribed`: in the customer table only, as `never_bought` for purchases),
and count the data-quality figures per table and in total (input rows = clean + rejected +
skipped + after the period, in every table).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.customers import prepare_customers
from segml.data.no_purchase import NO_PURCHASE_COLUMNS
from segml.data.period import active_days, check_as_of, export_end, period_end
from segml.data.raw import text_table
from segml.data.rejects import REASONS, in_plain_words
from segml.data.spells import PreparedSpells, prepare_spells
from segml.data.subscription_events import PAYMENTS, REQUIRED, USAGE, PreparedEvents, prepare_events
from segml.data.subscription_rows import (
    SUBSCRIPTION_REASONS,
    SUBSCRIPTION_REASONS_ZH,
    Table,
    mapped_table,
)
from segml.errors import ContractError

SUBSCRIPTIONS, CUSTOMERS = "subscriptions", "customers"
TABLES = (SUBSCRIPTIONS, PAYMENTS, USAGE, CUSTOMERS)
NO_SUBSCRIPTION_STATUSES = s.NO_SUBSCRIPTION_STATUSES
_REASON_KEYS = {text: key for key, text in REASONS.items()}
_TOTALS = ("rows_read", "rows_clean", "rows_rejected", "rows_skipped", "rows_after_period")


@dataclass(frozen=True)
class SubscriptionExport:
    """The user's tables as read (every column as text); usage, payments, customers optional."""

    subscriptions: pa.Table | pd.DataFrame
    payments: pa.Table | pd.DataFrame | None = None
    usage: pa.Table | pd.DataFrame | None = None
    customers: pa.Table | pd.DataFrame | None = None


@dataclass(frozen=True)
class PreparedSubscriptions:
    subscriptions: pd.DataFrame  # contracts.CLEAN_SUBSCRIPTIONS
    payments: pd.DataFrame  # contracts.CLEAN_PAYMENTS (empty when the export has none)
    usage: pd.DataFrame  # contracts.CLEAN_USAGE (empty when the export has none)
    customers: pd.DataFrame  # as `segml.data.validate` prepares it for transactions
    rejected: pd.DataFrame  # every table's rejected rows whole + row, reason, file
    quality: dict
    no_purchase: pd.DataFrame  # customers without a usable subscription (NO_PURCHASE_COLUMNS)


def read_options(cfg: DataConfig, name: str) -> dict | None:
    """`raw.read_raw_table` settings for one table of the export (the transaction file's format,
    encoding, delimiter, sheet and header row; `header_row: auto` looks for this table's mapped
    required names), or None when its group maps no columns (the table is not read)."""
    mapping = getattr(cfg, name).get("columns") or {}
    if not mapping and name != SUBSCRIPTIONS:
        return None
    required = {SUBSCRIPTIONS: s.REQUIRED_SUBSCRIPTION_COLUMNS, **REQUIRED}[name]
    names = tuple(str(mapping[c]) for c in required if mapping.get(c) is not None)
    return cfg.read_options() | {"header_names": names}


def prepare_subscriptions(
    export: SubscriptionExport,
    cfg: DataConfig,
    as_of: str | None = None,
    sources: dict[str, str] | None = None,
) -> PreparedSubscriptions:
    """Validate and clean a subscription export into typed canonical tables; `sources` name
    each table's file in messages and rejected rows (default: the table's name)."""
    names = {name: (sources or {}).get(name) or name for name in TABLES}
    tables = _mapped_tables(export, cfg, names)
    end = _export_end(tables, cfg)
    period = period_end(as_of)
    spells = prepare_spells(tables[SUBSCRIPTIONS], cfg, end, period)
    events = {
        name: prepare_events(name, tables[name], cfg, end, period)
        for name in (PAYMENTS, USAGE)
        if name in tables
    }
    customers, rejected_customers, customer_quality = _customers(export.customers, cfg, names)
    no_subscription = customers_without_subscription(spells, customers[s.CUSTOMER_ID])
    quality = _quality(tables, spells, events, customer_quality, no_subscription)
    quality |= {"as_of": as_of, "export_end": str(end.date())}
    _check_usable(quality, names[SUBSCRIPTIONS])
    quality["notes"] = _notes(quality, cfg)
    rejected = pd.concat(
        [spells.rejected, *(e.rejected for e in events.values()), rejected_customers],
        ignore_index=True,
    )
    rejected[s.SOURCE_ROW] = rejected[s.SOURCE_ROW].astype("int64")
    return PreparedSubscriptions(
        spells.clean,
        _events_or_empty(events, PAYMENTS),
        _events_or_empty(events, USAGE),
        customers,
        rejected,
        quality,
        no_subscription,
    )


def _mapped_tables(
    export: SubscriptionExport, cfg: DataConfig, names: dict[str, str]
) -> dict[str, Table]:
    """Each table present with its columns mapped; a table whose group maps no columns is
    not read (usage and payments are optional)."""
    required = {SUBSCRIPTIONS: s.REQUIRED_SUBSCRIPTION_COLUMNS, **REQUIRED}
    tables = {}
    for name in (SUBSCRIPTIONS, PAYMENTS, USAGE):
        raw = getattr(export, name)
        mapping = getattr(cfg, name).get("columns") or {}
        if raw is None or (name != SUBSCRIPTIONS and not mapping):
            continue
        if not mapping:
            raise ContractError(
                f"{names[name]}: data.kind is subscriptions but data.subscriptions.columns maps "
                "no columns: map customer_id, subscription_id, start and amount (see "
                "conf/data/subscription_demo.yaml)."
            )
        key = f"data.{name}"
        tables[name] = mapped_table(text_table(raw), mapping, required[name], names[name], key, cfg)
    return tables


def _export_end(tables: dict[str, Table], cfg: DataConfig) -> pd.Timestamp:
    """The last day of real activity over every table: spells' starts, payments and usage
    (stragglers after a long silent gap left out, as `period.export_end` does for purchases)."""
    dated = {SUBSCRIPTIONS: s.START, PAYMENTS: s.TS, USAGE: s.TS}
    days = [tables[name].dates(dated[name], cfg) for name in tables]
    return export_end(active_days(np.concatenate(days)), cfg.max_tail_gap_days)


def _customers(raw, cfg: DataConfig, names: dict[str, str]):
    """The customer table as purchases' is prepared (`segml.data.customers`: ids cleaned, missing
    and repeated ids rejected, attributes typed by `data.customer_columns`, a history by
    `data.customer_validity`), its rejected rows, and its counts."""
    prepared = prepare_customers(raw, cfg, names[CUSTOMERS])
    customers, rejected = prepared.customers, prepared.rejected
    if raw is None:
        return customers, rejected, None
    counts = rejected[s.REJECT_REASON].value_counts() if len(rejected) else pd.Series(dtype=int)
    quality = {
        "rows_read": int(len(raw)),
        "rows_clean": int(len(customers)),
        "rows_rejected": int(len(rejected)),
        "rows_skipped": 0,
        "rows_after_period": 0,
        # by key, as every other table's (the customer reader gives its reasons in words)
        "rejected_by_reason": {_REASON_KEYS.get(k, k): int(n) for k, n in counts.items()},
        "customers": int(customers[s.CUSTOMER_ID].nunique()),
        "customer_ids_repaired": prepared.repaired,
        **prepared.quality,
    }
    return customers, rejected, quality


_EMPTY = {
    PAYMENTS: {s.AMOUNT: "float64", s.OUTCOME: "str"},
    USAGE: {s.QUANTITY: "float64", s.KIND: "str"},
}


def _events_or_empty(events: dict[str, PreparedEvents], name: str) -> pd.DataFrame:
    """The clean events, or an empty table of their columns when the export has none."""
    if name in events:
        return events[name].clean
    dtypes = {s.CUSTOMER_ID: "str", s.SUBSCRIPTION_ID: "str", s.TS: "datetime64[ns]"}
    return pd.DataFrame({c: pd.Series(dtype=d) for c, d in (dtypes | _EMPTY[name]).items()})


def customers_without_subscription(spells: PreparedSpells, customer_ids: pd.Series) -> pd.DataFrame:
    """Customers the export knows who hold no usable subscription, one row each, by id:
    `all_rows_rejected` (they have subscription rows in the period, every one rejected; with how
    many and why) or `never_subscribed` (in the customer table without any subscription row: a
    prospect). Rows after the period and rows that are no row count for nothing."""
    rows = spells.rows
    ids = pd.Series(spells.customer_ids.to_pandas(), dtype=object)
    inside = pd.isna(rows.outside) & ids.notna().to_numpy()
    kept = set(ids[rows.good])
    rejected = pd.DataFrame(
        {"id": ids[inside & rows.rejected], "reason": rows.reason[inside & rows.rejected]}
    )
    rejected = rejected[~rejected["id"].isin(kept)]
    per_reason = rejected.groupby(["id", "reason"], sort=True).size().reset_index(name="n")
    per_reason["text"] = [
        f"{in_plain_words(SUBSCRIPTION_REASONS[r])} × {n}"
        for r, n in zip(per_reason["reason"], per_reason["n"])
    ]
    per_reason["text_zh"] = [
        f"{in_plain_words(SUBSCRIPTION_REASONS_ZH[r])} × {n}"
        for r, n in zip(per_reason["reason"], per_reason["n"])
    ]
    listed = per_reason.groupby("id").agg(
        rejected_rows=("n", "sum"),
        reject_reasons=("text", "; ".join),
        reject_reasons_zh=("text_zh", "；".join),
    )
    table_ids = pd.Series(customer_ids, dtype=object)
    seen = pc.drop_null(spells.customer_ids).to_pandas()
    prospects = sorted(set(table_ids) - set(seen))
    table = pd.DataFrame(
        {
            "customer_id": [*listed.index, *prospects],
            "status": ["all_rows_rejected"] * len(listed) + ["never_subscribed"] * len(prospects),
            "rejected_rows": np.r_[listed["rejected_rows"].to_numpy(), np.zeros(len(prospects))],
            "reject_reasons": [*listed["reject_reasons"], *[""] * len(prospects)],
            "reject_reasons_zh": [*listed["reject_reasons_zh"], *[""] * len(prospects)],
            "in_customer_table": np.r_[listed.index.isin(table_ids), np.ones(len(prospects))],
        }
    )
    table = table.astype(
        {
            "customer_id": "str",
            "status": "str",
            "rejected_rows": "int64",
            "reject_reasons": "str",
            "reject_reasons_zh": "str",
        }
    ).astype({"in_customer_table": bool})
    return table.sort_values("customer_id", ignore_index=True)[list(NO_PURCHASE_COLUMNS)]


def _quality(
    tables: dict[str, Table],
    spells: PreparedSpells,
    events: dict[str, PreparedEvents],
    customers: dict | None,
    no_subscription: pd.DataFrame,
) -> dict:
    """Per table its figures, and the totals over every table the stage's headline reads."""
    per_table = {SUBSCRIPTIONS: spells.quality, **{n: e.quality for n, e in events.items()}}
    if customers is not None:
        per_table[CUSTOMERS] = customers
    known = set(spells.clean[s.CUSTOMER_ID])
    for name, result in events.items():
        ids = result.clean[s.CUSTOMER_ID]
        per_table[name]["customers_without_subscription"] = int(ids[~ids.isin(known)].nunique())
    totals = {key: sum(q[key] for q in per_table.values()) for key in _TOTALS}
    by_reason: dict[str, int] = {}
    for q in per_table.values():
        for reason, n in q["rejected_by_reason"].items():
            by_reason[reason] = by_reason.get(reason, 0) + n
    starts = spells.clean[s.START]
    not_found = {k: v for t in tables.values() for k, v in t.not_found.items()}
    return {
        "kind": "subscriptions",
        **totals,
        "rejected_share": totals["rows_rejected"] / totals["rows_read"]
        if totals["rows_read"]
        else 0.0,
        "rejected_by_reason": by_reason,
        "first_date": str(starts.min().date()) if len(starts) else None,
        "last_date": _last_date(spells, events),
        "input_files": sum(len(t.sources.names) for t in tables.values()),
        "customers_with_subscriptions": int(spells.clean[s.CUSTOMER_ID].nunique()),
        "customers_without_subscription": {
            status: int((no_subscription["status"] == status).sum())
            for status in NO_SUBSCRIPTION_STATUSES
        },
        "columns_not_found": not_found,
        **per_table,
    }


def _last_date(spells: PreparedSpells, events: dict[str, PreparedEvents]) -> str | None:
    """The last day with activity kept: a start, a payment or a usage record."""
    last = [spells.clean[s.START].max(), *(e.clean[s.TS].max() for e in events.values())]
    last = [d for d in last if not pd.isna(d)]
    return str(max(last).date()) if last else None


def _check_usable(quality: dict, source: str) -> None:
    """Stop, saying why, when no spell is usable: before the later stages fail obscurely."""
    figures = quality[SUBSCRIPTIONS]
    if figures["rows_clean"]:
        return
    if figures["rows_after_period"]:
        raise ContractError(
            f"{source}: the period has no subscription: {figures['rows_after_period']:,} of its "
            f"rows start after as_of {quality['as_of']} and none before it is usable. Set as_of "
            f"to a date within the export (it ends {quality['export_end']}), or null for its end."
        )
    reasons = "; ".join(
        f"{n} × {SUBSCRIPTION_REASONS[k]}" for k, n in figures["rejected_by_reason"].items()
    )
    raise ContractError(
        f"{source}: none of its {figures['rows_read']} rows is usable ({reasons}). Check the "
        "column mapping and words in conf/data (data.subscriptions.columns, billing_periods, "
        "contracts, data.timestamp_format, data.dayfirst) and `as_of`."
    )


def _unknown_words(quality: dict):
    """(table, config key, words with their rows) for each word map that left words unknown."""
    for table, group in ((SUBSCRIPTIONS, "subscriptions"), (PAYMENTS, "payments")):
        for key, words in quality.get(table, {}).get("unknown_words", {}).items():
            if words:
                yield table, f"{group}.{key}", words


def _notes(quality: dict, cfg: DataConfig) -> list[str]:
    """What the user should know, in words: rows outside the period or skipped, unmapped
    headers, statuses the dates contradict, status words no config maps, an as_of past the
    data's end (which stops, unless data.as_of_past_end says otherwise)."""
    notes = []
    if quality["rows_after_period"]:
        notes.append(
            f"{quality['rows_after_period']:,} rows dated after as_of {quality['as_of']} are "
            "outside this period (counted, not rejected)"
        )
    if quality["rows_skipped"]:
        notes.append(
            f"{quality['rows_skipped']:,} rows skipped, not rows of a table (empty, totals)"
        )
    for key, found in quality["columns_not_found"].items():
        near = f" (did you mean {found['did_you_mean']!r}?)" if "did_you_mean" in found else ""
        notes.append(f"column {found['column']!r} ({key}) is not in the file{near}")
    spells = quality[SUBSCRIPTIONS]
    if spells["status_disagrees_with_dates"]:
        notes.append(
            f"{spells['status_disagrees_with_dates']:,} spells say cancelled or expired but have "
            "no end date: read as running (the dates win)"
        )
    if spells["unknown_status_words"]:
        words = ", ".join(spells["unknown_status_words"])
        notes.append(f"status words no config maps (data.subscriptions.statuses): {words}")
    for table, key, words in _unknown_words(quality):
        listed = ", ".join(f"{w!r} ({n:,} row{'s' * (n != 1)})" for w, n in words.items())
        notes.append(
            f"{table} rows rejected for words no config maps (data.{key}): {listed}; "
            f"add each to data.{key} with the value it means"
        )
    for name in (PAYMENTS, USAGE):  # mapped but absent: their features would vanish unsaid
        if getattr(cfg, name).get("columns") and name not in quality:
            notes.append(
                f"data.{name} maps columns but there is no {name} file (paths.raw_{name}): "
                f"the {name} features are left out; add the file, or remove data.{name}"
            )
    past_end = check_as_of(quality["as_of"], quality["last_date"], cfg)
    if past_end:
        notes.append(past_end)
    return notes
