"""Both exports put together after their own readers (`data.kind: both`), on hand-made results:
who is listed without a tier, the customer table's rejected rows once, the quality totals."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from segml.data import schema as s
from segml.data.both import both_quality, check_both_mapped, combine_prepared
from segml.data.subscriptions import PreparedSubscriptions
from segml.data.validate import Prepared
from segml.errors import ConfigError


def listed(rows):
    return pd.DataFrame(
        rows,
        columns=["customer_id", "status", "rejected_rows", "reject_reasons", "in_customer_table"],
    )


def rejected(rows):
    return pd.DataFrame(rows, columns=["x", s.REJECT_REASON, s.SOURCE_FILE, s.SOURCE_ROW])


CUSTOMERS = pd.DataFrame({s.CUSTOMER_ID: ["a", "b", "c", "d", "p"]})
# a bought only, b bought and subscribes, c subscribes only (listed `never_bought` by purchases),
# d has only rejected subscription rows and never bought, p is a prospect (listed by both)
PURCHASES = Prepared(
    pd.DataFrame({s.CUSTOMER_ID: ["a", "b"], s.TS: pd.to_datetime(["2025-01-01"] * 2)}),
    CUSTOMERS,
    rejected([["1", "bad amount", "tx.csv", 3], ["", "missing id", "customers.csv", 7]]),
    {
        "rows_read": 10,
        "rows_clean": 8,
        "rows_rejected": 1,
        "rows_skipped": 1,
        "rows_after_period": 0,
        "as_of": None,
        "export_end": "2025-12-30",
        "last_date": "2025-12-30",
        "notes": ["one note"],
    },
    listed(
        [
            ["c", "never_bought", 0, "", True],
            ["d", "never_bought", 0, "", True],
            ["p", "never_bought", 0, "", True],
        ]
    ),
)
SUBSCRIPTIONS = PreparedSubscriptions(
    pd.DataFrame({s.CUSTOMER_ID: ["b", "c"]}),
    pd.DataFrame(),
    pd.DataFrame(),
    CUSTOMERS,
    rejected([["2", "bad start", "subs.csv", 4], ["", "missing id", "customers.csv", 7]]),
    {
        "rows_read": 20,
        "rows_clean": 16,
        "rows_rejected": 3,
        "rows_skipped": 0,
        "rows_after_period": 1,
        "export_end": "2025-12-31",
        "last_date": "2025-12-31",
        "notes": ["another"],
        "customers": {
            "rows_read": 6,
            "rows_clean": 5,
            "rows_rejected": 1,
            "rows_skipped": 0,
            "rows_after_period": 0,
        },
    },
    listed(
        [
            ["a", "never_subscribed", 0, "", True],
            ["d", "all_rows_rejected", 2, "x × 2", True],
            ["p", "never_subscribed", 0, "", True],
        ]
    ),
)


def test_a_customer_is_listed_apart_only_when_neither_export_gives_them_anything():
    both = combine_prepared(PURCHASES, SUBSCRIPTIONS, "customers.csv")
    table = both.no_purchase
    assert table[s.CUSTOMER_ID].tolist() == ["d", "p"]  # a bought, b and c subscribe
    assert table["status"].tolist() == ["never_bought", "never_bought"]  # purchases' words first


def test_every_files_rejected_rows_in_one_table_the_customer_tables_once():
    both = combine_prepared(PURCHASES, SUBSCRIPTIONS, "customers.csv")
    assert both.rejected[s.SOURCE_FILE].tolist() == ["tx.csv", "customers.csv", "subs.csv"]
    assert both.rejected[s.SOURCE_ROW].dtype == "int64"
    assert both.customers is CUSTOMERS and both.subscriptions is SUBSCRIPTIONS.subscriptions


def test_quality_totals_count_the_customer_table_once_and_keep_each_kinds_record():
    q = both_quality(PURCHASES.quality, SUBSCRIPTIONS.quality)
    # 10 + 20 - 6 read; 8 + 16 - 5 clean; 1 + 3 - 1 rejected; 1 skipped; 1 after the period
    assert (q["rows_read"], q["rows_clean"], q["rows_rejected"]) == (24, 19, 3)
    assert (q["rows_skipped"], q["rows_after_period"]) == (1, 1)
    assert q["rejected_share"] == pytest.approx(3 / 24)
    assert q["kind"] == "both" and q["export_end"] == "2025-12-31"
    assert q["transactions"] is PURCHASES.quality and q["subscriptions"] is SUBSCRIPTIONS.quality
    assert q["notes"] == ["purchases: one note", "subscriptions: another"]


def test_both_needs_both_exports_mapped(cfg):
    data = dataclasses.replace(cfg.data, kind="both", subscriptions={"columns": {}})
    with pytest.raises(ConfigError, match="data.subscriptions.columns.customer_id"):
        check_both_mapped(data)
    check_both_mapped(dataclasses.replace(cfg.data, subscriptions={}))  # transactions: no check
