"""Where the tier stage differs per kind of data (`data.kind`): the value columns, the columns that
identify a customer in the tier table, the lifecycle status, the facts reasons are phrased from,
and whether RFM scores and next purchase dates apply. Transactions keep today's behaviour exactly;
`segml.stages.kinds` picks the record once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from segml.config import TieringConfig
from segml.data import schema as s
from segml.tiering import policies as t
from segml.tiering.behaviour import (
    Facts,
    attribute_facts,
    behaviour_facts,
    column_of,
    dates_before,
    facts_context,
)
from segml.tiering.usage_words import said


@dataclass(frozen=True)
class TierSeams:
    name: str
    identity_columns: list[str]  # snapshot columns copied into the tier table
    # (snapshot, cfg, horizon) -> (current value, value of the last H days)
    values: Callable[[pd.DataFrame, TieringConfig, int], tuple[pd.Series, pd.Series]]
    # (snapshot, churn probability, cfg) -> lifecycle status per customer
    lifecycle: Callable[[pd.DataFrame, pd.Series, TieringConfig], pd.Series]
    # (snapshot, window_days, value_window_days, horizon, words of usage kinds) -> Facts
    facts: Callable[[pd.DataFrame, int, int, int, dict], Facts]
    rfm: bool  # RFM scores and segments (when tiering.rfm is set)
    next_purchase: bool  # expected next purchase dates

    def tiering(self, cfg: TieringConfig) -> TieringConfig:
        """The tiering settings this kind grades with: RFM scores, segments and their coherence
        with personas only where purchases are the behaviour; subscribers' own actions and
        status names (`tiering.lifecycle_subscription`)."""
        if self.rfm:
            return cfg
        extra = cfg.lifecycle_subscription.get("actions", {})
        lifecycle = {**cfg.actions.get("lifecycle", {}), **extra}
        # only the statuses subscribers can have (no "first-purchase offer" in their actions)
        statuses = subscriber_statuses(cfg)
        lifecycle = {k: v for k, v in lifecycle.items() if k in statuses}
        actions = {**cfg.actions, "lifecycle": lifecycle}
        words = {**cfg.lifecycle.get("labels", {}), **cfg.lifecycle_subscription.get("labels", {})}
        bands = replace(cfg.churn_bands, **cfg.lifecycle_subscription.get("churn_bands", {}))
        return replace(
            cfg,
            rfm={},
            coherence={},
            actions=actions,
            churn_bands=bands,
            lifecycle={**cfg.lifecycle, "labels": words},
        )

    def grading_columns(self, cfg: TieringConfig) -> list[str]:
        """The snapshot columns grading needs besides the scores (ids, lifecycle and RFM inputs)."""
        rfm = list(cfg.rfm["columns"].values()) if cfg.rfm and self.rfm else []
        needs = LIFECYCLE_INPUTS[self.name](cfg)
        return list(dict.fromkeys(["customer_id", *needs, *rfm]))


def subscriber_statuses(cfg: TieringConfig) -> set[str]:
    """Every lifecycle status a subscriber can have: their rules', `cancelled`, and those of
    customers listed without a subscription (`segml.data.subscriptions`)."""
    rules = cfg.lifecycle_subscription.get("rules", [])
    return {r["status"] for r in rules} | {"cancelled", *s.NO_SUBSCRIPTION_STATUSES}


def _purchase_values(snap: pd.DataFrame, cfg: TieringConfig, horizon_days: int):
    column = f"spend_{cfg.value_window_days}d"
    current = snap[column] if column in snap else snap["monetary_total"]
    return current, snap[f"spend_{horizon_days}d"]


def _purchase_lifecycle(snap: pd.DataFrame, churn_probability: pd.Series, cfg: TieringConfig):
    return t.lifecycle_status(
        snap["recency_days"].reset_index(drop=True),
        snap["tenure_days"].reset_index(drop=True),
        churn_probability,
        cfg.lifecycle,
    )


def _recurring_values(snap: pd.DataFrame, cfg: TieringConfig, horizon_days: int):
    """Recurring revenue billed in the value window (else the last year's), and in the last H
    days (else the run rate over H)."""
    revenue = [c for c in snap.columns if c.startswith("revenue_") and c.endswith("d")]
    wanted = f"revenue_{cfg.value_window_days}d"
    current = snap[wanted] if wanted in snap else snap[revenue[-1]]
    last = f"revenue_{horizon_days}d"
    last = snap[last] if last in snap else snap["mrr"] * horizon_days / s.DAYS_PER_MONTH
    # with both exports (`data.kind: both`): their purchases in the same windows, money with money
    current_spend, last_spend = (
        f"purchase_spend_{d}d" for d in (cfg.value_window_days, horizon_days)
    )
    if current_spend in snap and last_spend in snap:
        return current + snap[current_spend], last + snap[last_spend]
    return current, last


def _subscriber_lifecycle(snap: pd.DataFrame, churn_probability: pd.Series, cfg: TieringConfig):
    return t.subscriber_status(
        snap.reset_index(drop=True), churn_probability, cfg.lifecycle_subscription["rules"]
    )


# the facts reasons say of subscribers besides their features (`subscriber_facts`); context:
# the days of the usage trend
SUBSCRIBER_FACTS = (
    "tenure_months",
    "first_purchase",
    "mrr_change_abs",
    "usage_kind",
    "usage_kind_en",
    "usage_kind_zh",
    "usage_vs_usual",
    "usage_trend",
    "usage_fall",
    "usage_trend_days",
)


def subscriber_facts(
    snap: pd.DataFrame,
    window_days: int,
    value_window_days: int,
    horizon_days: int,
    words: dict | None = None,
) -> Facts:
    """Per customer: every numeric subscriber feature under its own name, and for people the
    tenure in months, the date of the first day of the current run, the size of a fee change, the
    plan and attributes as text, and the most used usage kind's level, trend and name (as the
    export writes it, and in `words` per language: `tiering.usage_words`)."""
    facts = {
        c: column_of(snap, c)
        for c in snap.columns
        if pd.api.types.is_numeric_dtype(snap[c])
        and not isinstance(snap[c].dtype, pd.CategoricalDtype)
    }
    tenure = column_of(snap, "tenure_days")
    mrr_change = [c for c in snap.columns if c.startswith("mrr_change_")]
    facts |= {
        "tenure_months": tenure / s.DAYS_PER_MONTH,
        "first_purchase": dates_before(snap, tenure),  # the current run's first day
        "mrr_change_abs": np.abs(column_of(snap, mrr_change[0])) if mrr_change else tenure * np.nan,
    }
    trends = [c for c in snap.columns if c.startswith("usage_trend_")]
    context = facts_context(window_days, value_window_days, horizon_days)
    if trends:  # the first kind is the most used (the vocabulary's order)
        days, kind = trends[0].removeprefix("usage_trend_").split("d__", 1)
        context["usage_trend_days"] = int(days)
        trend = np.clip(column_of(snap, trends[0]), -0.999, 0.999)
        facts |= {
            "usage_kind": np.full(len(snap), kind, dtype=object),
            **{
                f"usage_kind_{language}": np.full(
                    len(snap), said(kind, words or {}, language), dtype=object
                )
                for language in ("en", "zh")
            },
            "usage_vs_usual": column_of(snap, f"usage_vs_year__{kind}"),
            "usage_trend": trend,
            "usage_fall": 1 - (1 + trend) / (1 - trend),  # recent / before = (1 + t) / (1 - t)
        }
    facts |= attribute_facts(snap, text_columns=("plan",))
    return Facts(facts, context, len(snap))


def _purchase_facts(snap, window_days, value_window_days, horizon_days, words=None) -> Facts:
    return behaviour_facts(snap, window_days, value_window_days, horizon_days)


LIFECYCLE_INPUTS = {
    "transactions": lambda cfg: ["recency_days", "tenure_days"],
    "subscriptions": lambda cfg: t.condition_facts(cfg.lifecycle_subscription.get("rules", [])),
}
TRANSACTION_SEAMS = TierSeams(
    "transactions",
    ["recency_days", "frequency", "monetary_total", "tenure_days"],
    _purchase_values,
    _purchase_lifecycle,
    _purchase_facts,
    True,
    True,
)
SUBSCRIPTION_SEAMS = TierSeams(
    "subscriptions",
    ["tenure_days", "mrr", "contract_months", "contract_days_left"],
    _recurring_values,
    _subscriber_lifecycle,
    subscriber_facts,
    False,
    False,
)
