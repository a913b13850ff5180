"""How an audit record (audit.json's periods) is read: the outcome it measured, the name of its
"stayed" rate, and its groups in reading order. Apart from `tiering.audit`, which measures (and
loads scikit-learn for it), so the report, the workbook and the terminal summary read a record
without it."""

from __future__ import annotations

from segml.tiering.realized import RATES, REPURCHASED, RETAINED, STAYED

# lifecycle statuses in reading order: customers who bought or subscribe, then those without a
# usable purchase or subscription (each kind shows its own)
LIFECYCLE_ORDER = [
    "trial",
    "new",
    "active",
    "won_back",
    "past_due",
    "at_risk",
    "lost",
    "cancelled",
    "never_bought",
    "never_subscribed",
    "only_refunds",
    "only_free_orders",
    "all_rows_rejected",
]


def outcome_of(period: dict) -> str:
    """The outcome an audited period measured (`repurchased` or `retained`), from its keys."""
    return next((o for o in (RETAINED, STAYED) if RATES[o] in period), REPURCHASED)


def rate_key(period: dict) -> str:
    """The name of an audited period's "stayed" rate: `repurchase_rate` or `retention_rate`."""
    return RATES[outcome_of(period)]


def in_order(period: dict, part: str) -> dict:
    """A period's `by_tier` or `by_lifecycle` groups in reading order (best tier first, the
    lifecycle as `LIFECYCLE_ORDER`): audit.json is written with its keys sorted, which would put a
    pyramid's gold before platinum."""
    groups = period.get(part) or {}
    order = (period.get("tier_order") or []) if part == "by_tier" else LIFECYCLE_ORDER
    known = [k for k in order if k in groups]
    return {k: groups[k] for k in known + [k for k in groups if k not in known]}
