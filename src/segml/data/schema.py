"""One column vocabulary and the data contract for clean tables.

User files are mapped onto these canonical names at the edge (`conf/data`); everything inside
segml speaks only these names.
"""

from __future__ import annotations

import pandera.pandas as pa

# Transactions
CUSTOMER_ID = "customer_id"
TS = "ts"
AMOUNT = "amount"
ORDER_ID = "order_id"
QUANTITY = "quantity"
CATEGORY = "category"
CHANNEL = "channel"

REQUIRED_TRANSACTION_COLUMNS = (CUSTOMER_ID, TS, AMOUNT)
OPTIONAL_TRANSACTION_COLUMNS = (ORDER_ID, QUANTITY, CATEGORY, CHANNEL)

# Customer attributes (all optional; behaviour exists only for customers who bought)
ATTRIBUTE_COLUMNS = (
    "region",
    "city_tier",
    "business_type",
    "acquisition_channel",
    "age_band",
    "gender",
)

# Rejected rows keep the original values (as text) plus these
REJECT_REASON = "reject_reason"
SOURCE_ROW = "source_row"  # 1-based data row number in the input file (header excluded)
SOURCE_FILE = "source_file"

# Feature tables
CUTOFF = "cutoff"
CHURNED = "churned"
FUTURE_VALUE = "future_value"
NEXT_PURCHASE = "next_purchase_days"  # days to the first purchase in the window (NaN: none)
LABELS = (CHURNED, FUTURE_VALUE, NEXT_PURCHASE)

CLEAN_TRANSACTIONS = pa.DataFrameSchema(
    {
        CUSTOMER_ID: pa.Column(str, pa.Check.str_length(min_value=1)),
        TS: pa.Column("datetime64[ns]"),
        AMOUNT: pa.Column(float, pa.Check(lambda s: s != 0, error="amount must be non-zero")),
        ORDER_ID: pa.Column(str, nullable=True, required=False),
        QUANTITY: pa.Column(float, nullable=True, required=False),
        CATEGORY: pa.Column(str, nullable=True, required=False),
        CHANNEL: pa.Column(str, nullable=True, required=False),
    },
    strict=True,
    coerce=False,
)

# `data.drop_zero_amounts: false` keeps zero-amount rows (free orders, gifts) as valid rows
CLEAN_TRANSACTIONS_WITH_FREE_ORDERS = CLEAN_TRANSACTIONS.update_column(AMOUNT, checks=[])

CLEAN_CUSTOMERS = pa.DataFrameSchema(
    {
        CUSTOMER_ID: pa.Column(str, unique=True),
        **{c: pa.Column(str, nullable=True, required=False) for c in ATTRIBUTE_COLUMNS},
    },
    strict=True,
)
