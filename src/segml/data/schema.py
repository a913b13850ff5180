"""One column vocabulary for clean tables (their pandera contracts: `segml.data.contracts`).

User files are mapped onto these canonical names at the edge (`conf/data`); everything inside
segml speaks only these names.
"""

from __future__ import annotations

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

# Subscriptions: one row per spell (a period with one plan and one price); a plan change or a
# renewal closes a spell and opens the next under the same subscription id. Service runs over
# [start, end); an empty end is running.
SUBSCRIPTION_ID = "subscription_id"
PLAN = "plan"
START = "start"  # first day of service
END = "end"  # first day without service (exclusive); empty = running
BILLING_MONTHS = "billing_months"  # the billing period in months (from data.subscriptions words)
CONTRACT_MONTHS = "contract_months"  # commitment term: 0 = month-to-month
STATUS = "status"  # the export's own status word, mapped: as of the export, never a feature
CANCELLED_ON = "cancelled_on"  # optional: when notice was given (may precede END)
MRR = "mrr"  # derived: amount / billing_months
IS_TRIAL = "is_trial"
REQUIRED_SUBSCRIPTION_COLUMNS = (CUSTOMER_ID, SUBSCRIPTION_ID, START, AMOUNT)
OPTIONAL_SUBSCRIPTION_COLUMNS = (PLAN, END, "billing_period", STATUS, "contract", CANCELLED_ON)
STATUSES = ("trial", "active", "past_due", "cancelled", "changed", "expired", "paused")
# lifecycle statuses of customers listed without a usable subscription (segml.data.subscriptions)
NO_SUBSCRIPTION_STATUSES = ("all_rows_rejected", "never_subscribed")
# usage events (ts, quantity, kind) and payments (ts, amount, outcome): event logs like purchases
KIND = "kind"
OUTCOME = "outcome"
PAYMENT_OUTCOMES = ("paid", "failed", "late")
DAYS_PER_MONTH = 365.25 / 12

# Rejected rows keep the original values (as text) plus these
REJECT_REASON = "reject_reason"
SOURCE_ROW = "source_row"  # 1-based data row number in the input file (header excluded)
SOURCE_FILE = "source_file"

# Feature tables
CUTOFF = "cutoff"
CHURNED = "churned"
FUTURE_VALUE = "future_value"
NEXT_PURCHASE = "next_purchase_days"  # days to the first purchase in the window (NaN: none)
DAYS_TO_CHURN = "days_to_churn"  # subscriptions: days to the end of coverage, censored at H
VALUE_365 = "value_365d"  # subscriptions: recurring revenue in the 365 days after the cutoff
LABELS = (CHURNED, FUTURE_VALUE, NEXT_PURCHASE)
LABEL_COLUMNS = (*LABELS, DAYS_TO_CHURN, VALUE_365)  # never a model input, whichever kind

# Customer attributes by type (`segml.data.attributes`): categories as text, numbers and yes/no as
# floats (1.0 / 0.0), dates as days; with `data.customer_validity`, each row's validity date
VALID_FROM = "valid_from"
ATTRIBUTE_DTYPES = {"category": str, "number": float, "date": "datetime64[s]", "yes_no": float}
