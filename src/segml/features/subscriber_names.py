"""The names of the subscriber features as `features.subscriptions` makes them, and the setting
that makes each windowed one: what a segment feature, a lifecycle rule or a reason phrase may
name. `failed_payments_180d` exists only while 180 is one of the payment windows; a rule naming
a feature that is not built would never hold, in silence (segml.tiering.feature_names checks).
tests/features/test_subscriber_names.py builds the features and compares their columns."""

from __future__ import annotations

import re

from segml.features.subscription_settings import Settings

# the usage kind's place in a usage feature's name (`usage_90d__<kind>`): any kind
KIND = "<kind>"
# features of the spells that no window names
SPELL_FEATURES = (
    "tenure_days",
    "customer_since_days",
    "previous_cancellations",
    "contract_months",
    "contract_days_left",
    "months_out_of_contract",
    "is_trial",
    "plan",
    "n_products",
    "mrr",
)
# a windowed name -> the `features.subscriptions` setting whose days it carries
WINDOWED = {
    re.compile(r"failed_payments_(\d+)d"): "payment_windows",
    re.compile(r"(late_)?payments_(\d+)d"): "payment_windows (the longest)",
    re.compile(r"usage_(\d+)d__.+"): "usage_windows",
    re.compile(r"usage_trend_(\d+)d__.+"): "trend_days",
    re.compile(r"revenue_(\d+)d"): "revenue_windows",
    re.compile(r"mrr_change_(\d+)d"): "mrr_change_days",
    re.compile(r"(up|down)grades_(\d+)d"): "change_days",
    re.compile(r"dropped_products_(\d+)d"): "dropped_days",
}


def subscriber_features(settings: Settings, kinds: tuple[str, ...] = (KIND,)) -> list[str]:
    """Every feature the subscriber builder makes with `settings` (payments and usage mapped),
    usage ones per kind of `kinds`; customer attributes (`attr_…`) apart."""
    longest = max(settings.payment_windows)
    payments = [f"failed_payments_{w}d" for w in settings.payment_windows] + [
        f"late_payments_{longest}d",
        f"payments_{longest}d",
        "days_since_failed_payment",
        "past_due",
    ]
    usage = [
        name
        for k in kinds
        for name in (
            *(f"usage_{w}d__{k}" for w in settings.usage_windows),
            f"usage_trend_{settings.trend_days}d__{k}",
            f"usage_vs_year__{k}",
        )
    ]
    return [
        *SPELL_FEATURES,
        f"mrr_change_{settings.mrr_change_days}d",
        *(f"revenue_{w}d" for w in settings.revenue_windows),
        f"upgrades_{settings.change_days}d",
        f"downgrades_{settings.change_days}d",
        f"dropped_products_{settings.dropped_days}d",
        *payments,
        *usage,
        "days_since_usage",
    ]


def made_by(name: str) -> str | None:
    """The `features.subscriptions` setting whose days a windowed name carries, or None."""
    return next((setting for p, setting in WINDOWED.items() if p.fullmatch(name)), None)


def segment_features(settings: Settings, kinds: list[str]) -> list[str]:
    """Subscribers' segment features: recurring revenue, tenure, products, failed payments over
    the longest payment window, contract term, and the most used usage kind over the longest usage
    window (`kinds`: the vocabulary's, most used first)."""
    usage = [f"usage_{max(settings.usage_windows)}d__{k}" for k in kinds[:1]]
    failed = f"failed_payments_{max(settings.payment_windows)}d"
    return ["mrr", "tenure_days", "n_products", failed, "contract_months", *usage]
