"""One tier table of two parts (`data.kind: both`): each part scored, described and given reasons
by its own kind's seams (`scoring.score_customers`), then graded together: the value tiers
(ABC, pyramid, value x potential), movement and the tier summary are computed over the combined
table, since both parts give current value and predicted value in money and a churn probability.
Lifecycle statuses, churn bands, RFM scores, personas and reasons stay each part's own.
`churn_kind` says which churn a probability means (`CHURN_KINDS`).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from segml.config import TieringConfig
from segml.data import schema as s
from segml.tiering import policies as t
from segml.tiering.periods import Period
from segml.tiering.scoring import (
    SCORE_COLUMNS,
    TierResult,
    action_columns,
    grade_customers,
    with_non_buyers,
)
from segml.tiering.seams import TierSeams

# what a part's churn probability means: a cancellation observed, or a silence inferred
CHURN_KINDS = {"subscriptions": "cancels_subscription", "transactions": "stops_buying"}
CHURN_KIND_WORDS = {
    "cancels_subscription": {"en": "cancels subscription", "zh": "退订"},
    "stops_buying": {"en": "stops buying", "zh": "停止购买"},
}
# the tier table's columns the combined grading rewrites
GRADED = ["tier_abc", "tier_pyramid", "value_level", "potential_level", "vp_cell", "tier"]
MOVED = ["previous_tier", "previous_value", "tier_change"]


def _kept_status(snap: pd.DataFrame, churn_probability: pd.Series, cfg: TieringConfig):
    return snap["lifecycle_status"].reset_index(drop=True)


def combined_seams(seams: TierSeams) -> TierSeams:
    """Grading already described rows: their lifecycle status is kept, no RFM is recomputed."""
    return replace(seams, lifecycle=_kept_status, rfm=False)


def combine_parts(
    parts: dict[str, tuple[TierResult, TierSeams]],
    cfg: TieringConfig,
    previous: pd.DataFrame | None = None,
    previous_period: Period | None = None,
    listed_apart: pd.DataFrame | None = None,
) -> TierResult:
    """The parts' tier tables (each without customers listed apart) as one: `churn_kind` per row,
    value tiers, actions for them, movement against `previous` and the tier summary over all,
    then the customers `listed_apart` with a status, in customer-id order."""
    tables = [result.table.assign(**churn_kind(name)) for name, (result, _) in parts.items()]
    table = pd.concat(tables, ignore_index=True).sort_values(s.CUSTOMER_ID, ignore_index=True)
    table = table.drop(columns=[c for c in MOVED if c in table])
    scores = table[[c for c in SCORE_COLUMNS if c in table]]
    seams = combined_seams(next(iter(parts.values()))[1])
    grading = replace(cfg, rfm={}, coherence={})
    grades = grade_customers(table, scores, grading, previous, previous_period, seams)
    for column in [*GRADED, *[c for c in MOVED if c in grades.table]]:
        table[column] = grades.table[column].to_numpy()
    for column, words in t.vp_cell_words(table["vp_cell"], cfg).items():
        table[column] = words
    for name, (_, part_seams) in parts.items():  # each part's actions for its statuses
        rows = (table["churn_kind"] == CHURN_KINDS[name]).to_numpy()
        actions = action_columns(table[rows], part_seams.tiering(cfg))
        for column in actions.columns:
            table.loc[rows, column] = actions[column].to_numpy()
    table = with_non_buyers(table, listed_apart, listing_config(cfg))
    return TierResult(table, grades.movement, grades.summary)


def churn_kind(part: str) -> dict[str, str]:
    """The part's `churn_kind` and its words (`churn_kind_en`, `churn_kind_zh`)."""
    key = CHURN_KINDS[part]
    return {"churn_kind": key, **{f"churn_kind_{k}": v for k, v in CHURN_KIND_WORDS[key].items()}}


def listing_config(cfg: TieringConfig) -> TieringConfig:
    """The names and actions of every status a customer listed apart may have: buyers' (never
    bought, ...) and subscribers' (cancelled, never subscribed)."""
    extra = cfg.lifecycle_subscription
    labels = {**cfg.lifecycle.get("labels", {}), **extra.get("labels", {})}
    lifecycle = {**cfg.actions.get("lifecycle", {}), **extra.get("actions", {})}
    return replace(
        cfg,
        lifecycle={**cfg.lifecycle, "labels": labels},
        actions={**cfg.actions, "lifecycle": lifecycle},
    )
