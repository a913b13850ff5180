"""Tier policies, lifecycle status, actions and movement. Every rule's numbers come from config.

Documented edge cases, the same for every policy:
- customers are ordered by value (best first), ties broken by customer_id, so results are stable;
- customers with exactly equal value always share a grade (the better one);
- ABC: value <= 0 is always the last grade; if nobody has positive value everyone is last;
- pyramid: the best customer is always in the top grade, however small the population;
- value x potential: levels come from mid-rank percentiles, so one customer, or all-equal
  values, land in the middle level.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.tiering.behaviour import Facts
from segml.tiering.reasons import Condition

# The tier policies by name, and the column each one grades into: the one registry of policies
# (`tiering.primary` names one; the tier stage and the MLflow run log take their columns from here).
TIER_COLUMNS: Mapping[str, str] = MappingProxyType(
    {"abc": "tier_abc", "pyramid": "tier_pyramid", "value_potential": "vp_cell"}
)


def lookup(keys: pd.Series, rule) -> pd.Series:
    """`keys.map(rule)`, with `rule` called once per distinct key: a handful of labels over a
    million customers (a per-row Python call took seconds per column)."""
    codes, distinct = pd.factorize(keys, use_na_sentinel=False)
    mapped = [rule(k) for k in distinct]
    if all(isinstance(m, str) for m in mapped):  # names: gathered as text, no Python object each
        return pd.Series(pd.array(mapped, dtype="str").take(codes), index=keys.index)
    table = np.empty(len(distinct), dtype=object)
    table[:] = mapped
    return pd.Series(table[codes].tolist(), index=keys.index)


def _order(value: pd.Series, customer_id: pd.Series) -> np.ndarray:
    """Positions sorted by value desc, then customer_id asc."""
    return np.lexsort((customer_id.to_numpy(dtype=str), -value.to_numpy(dtype=float)))


def _best_grade_for_ties(value: pd.Series, grade_index: np.ndarray) -> np.ndarray:
    return (
        pd.Series(grade_index, index=value.index)
        .groupby(value.to_numpy())
        .transform("min")
        .to_numpy()
    )


def abc_position(value: pd.Series, customer_id: pd.Series) -> np.ndarray:
    """Share of total positive value held by better-ranked customers (0 for the best)."""
    v = value.clip(lower=0).to_numpy(dtype=float)
    order = _order(value, customer_id)
    total = v.sum()
    before = np.empty(len(v))
    before[order] = (np.cumsum(v[order]) - v[order]) / total if total > 0 else 1.0
    return before


def abc_tiers(
    value: pd.Series, customer_id: pd.Series, labels: list[str], cumulative_shares: list[float]
) -> pd.Series:
    """A holds the customers who make the first `cumulative_shares[0]` of value, and so on."""
    if len(value) == 0:
        return pd.Series([], dtype=object, index=value.index)
    index = np.searchsorted(
        np.asarray(cumulative_shares), abc_position(value, customer_id), side="right"
    )
    index[value.to_numpy(dtype=float) <= 0] = len(labels) - 1
    index = _best_grade_for_ties(value, np.minimum(index, len(labels) - 1))
    return pd.Series(np.asarray(labels, dtype=object)[index], index=value.index)


def pyramid_position(value: pd.Series, customer_id: pd.Series) -> np.ndarray:
    """Share of customers ranked above this one (0 for the best)."""
    order = _order(value, customer_id)
    position = np.empty(len(value))
    position[order] = np.arange(len(value)) / max(len(value), 1)
    return position


def pyramid_tiers(
    value: pd.Series, customer_id: pd.Series, labels: list[str], customer_shares: list[float]
) -> pd.Series:
    """Platinum = top 1 % of customers by value, gold = next 4 %, ... (shares from config)."""
    if len(value) == 0:
        return pd.Series([], dtype=object, index=value.index)
    bounds = np.cumsum(customer_shares)[:-1]
    index = np.searchsorted(bounds, pyramid_position(value, customer_id), side="right")
    index = _best_grade_for_ties(value, np.minimum(index, len(labels) - 1))
    return pd.Series(np.asarray(labels, dtype=object)[index], index=value.index)


def levels(values: pd.Series, cuts: list[float], names: list[str]) -> pd.Series:
    """low / mid / high by mid-rank percentile; equal values share a level."""
    if len(values) == 0:
        return pd.Series([], dtype=object, index=values.index)
    pct = (values.rank(method="average") - 0.5) / len(values)
    index = np.searchsorted(np.asarray(cuts), pct.to_numpy(), side="right")
    return pd.Series(np.asarray(names, dtype=object)[index], index=values.index)


def lifecycle_status(
    recency_days: pd.Series, tenure_days: pd.Series, churn_probability: pd.Series, rules: dict
) -> pd.Series:
    """new / active / at_risk / lost, checked in the order lost, new, at_risk, active."""
    conditions = [
        recency_days > rules["lost_after_days"],
        tenure_days <= rules["new_within_days"],
        (recency_days > rules["at_risk_after_days"])
        | (churn_probability >= rules["at_risk_probability"]),
    ]
    status = np.select(conditions, ["lost", "new", "at_risk"], default="active")
    return pd.Series(status, index=recency_days.index, dtype=object)


def subscriber_status(snapshot: pd.DataFrame, churn_probability, rules: list[dict]) -> pd.Series:
    """Subscribers' lifecycle status (`tiering.lifecycle_subscription`): the first rule, in config
    order, whose `when` conditions ("<feature> <op> <number>", the reasons' grammar; none = always)
    all hold, read from the snapshot's columns and `churn_probability`. Customers with nothing
    running are not scored: they are listed apart (`cancelled`)."""
    columns = {
        c: snapshot[c].to_numpy(dtype=float, na_value=np.nan)
        for c in condition_facts(rules)
        if c in snapshot
    }
    columns["churn_probability"] = np.asarray(churn_probability, dtype=float)
    facts = Facts(columns, {}, len(snapshot))
    status = np.full(len(snapshot), None, dtype=object)
    for rule in rules:
        holds = np.ones(len(snapshot), dtype=bool)
        for text in _listed(rule.get("when")):
            holds &= Condition.parse(text).mask(facts)
        status[holds & pd.isna(status)] = rule["status"]
    return pd.Series(status, index=snapshot.index, dtype=object)


def _listed(when) -> list[str]:
    return [] if when is None else [when] if isinstance(when, str) else list(when)


def condition_facts(rules: list[dict]) -> list[str]:
    """The snapshot columns the lifecycle rules read (not the churn probability)."""
    names = [Condition.parse(text).left for rule in rules for text in _listed(rule.get("when"))]
    return list(dict.fromkeys(n for n in names if n != "churn_probability"))


def rfm_score(values: pd.Series, cuts: list[float], higher_is_better: bool = True) -> pd.Series:
    """Score 1-5: 1 + how many `cuts` the share of customers strictly worse reaches.

    Ties share a score (all one-time buyers get the same F); for recency pass
    higher_is_better=False, so the most recent customers score 5.
    """
    v = values.to_numpy(dtype=float)
    if not higher_is_better:
        v = -v
    worse = np.searchsorted(np.sort(v), v, side="left") / max(len(v), 1)
    score = 1 + np.searchsorted(np.asarray(cuts, dtype=float), worse, side="right")
    return pd.Series(score.astype(np.int64), index=values.index)


def rfm_scores(frame: pd.DataFrame, rules: dict) -> pd.DataFrame:
    """rfm_r, rfm_f, rfm_m (1-5) and rfm_code ("545") from the configured columns and cuts."""
    columns, cuts = rules["columns"], rules["cuts"]
    out = pd.DataFrame(
        {
            "rfm_r": rfm_score(frame[columns["r"]], cuts, higher_is_better=False),
            "rfm_f": rfm_score(frame[columns["f"]], cuts),
            "rfm_m": rfm_score(frame[columns["m"]], cuts),
        },
        index=frame.index,
    )
    out["rfm_code"] = out["rfm_r"].astype(str) + out["rfm_f"].astype(str) + out["rfm_m"].astype(str)
    return out


def _in_range(score: pd.Series, bounds) -> pd.Series:
    if bounds is None:
        return pd.Series(True, index=score.index)
    low, high = bounds
    return (score >= low) & (score <= high)


def rfm_segments(
    scores: pd.DataFrame, lifecycle: pd.Series, segments: list[dict], coherence: dict
) -> pd.Series:
    """The first segment rule (in config order) whose score ranges hold and that the customer's
    lifecycle status allows; else that status's `rfm_default`."""
    key = pd.Series(None, index=scores.index, dtype=object)
    allowed = {status: set(rule["rfm"]) for status, rule in coherence.items() if "rfm" in rule}
    for rule in segments:
        holds = (
            _in_range(scores["rfm_r"], rule.get("r"))
            & _in_range(scores["rfm_f"], rule.get("f"))
            & _in_range(scores["rfm_m"], rule.get("m"))
        )
        permitted = lookup(
            lifecycle, lambda s, k=rule["key"]: s not in allowed or k in allowed[s]
        ).astype(bool)
        key[key.isna() & holds & permitted] = rule["key"]
    for status, rule in coherence.items():
        key[key.isna() & (lifecycle == status)] = rule.get("rfm_default")
    if key.isna().any():
        codes = sorted(scores.loc[key.isna(), "rfm_code"].unique())
        raise ValueError(
            f"tiering.rfm.segments: no segment for RFM codes {codes[:10]}; add a rule that covers "
            "them or an rfm_default for every lifecycle status in tiering.coherence"
        )
    return key


def coherent_personas(persona: pd.Series, lifecycle: pd.Series, coherence: dict) -> pd.Series:
    """Persona keys that never contradict the lifecycle status: a persona the status does not allow
    becomes `persona_replace[persona]`, else the status's `persona_default`."""
    out = persona.copy()
    for status, rule in coherence.items():
        if "persona" not in rule:
            continue
        wrong = (lifecycle == status) & ~persona.isin(rule["persona"])
        replace = rule.get("persona_replace", {})
        out[wrong] = lookup(
            persona[wrong], lambda p, r=replace, d=rule["persona_default"]: r.get(p, d)
        )
    return out


def apply_hysteresis(
    current: pd.Series,
    previous: pd.Series,
    position: np.ndarray,
    bounds: list[float],
    labels: list[str],
    band: float,
) -> pd.Series:
    """Keep last run's grade for a one-step move when the customer sits within `band` of the cut.

    `position` is the policy's ranking position (0 = best) and `bounds` its cut points, so a
    customer who crossed a cut by less than `band` does not flip back and forth between runs.
    """
    if band <= 0 or previous is None:
        return current
    rank = {label: i for i, label in enumerate(labels)}
    now = current.map(rank)
    before = previous.reindex(current.index).map(rank)
    one_step = (now - before).abs() == 1
    cut = np.asarray(bounds)[
        np.minimum(now, before).fillna(0).astype(int).clip(upper=len(bounds) - 1)
    ]
    near = np.abs(position - cut) <= band
    keep = (one_step & near).to_numpy()
    out = current.copy()
    out[keep] = previous.reindex(current.index)[keep]
    return out


# what says why a customer moved, and its name for the previous period
MOVED_COLUMNS = {"current_value": "previous_value", "predicted_value": "previous_predicted_value"}


def movement(
    current: pd.DataFrame, previous: pd.DataFrame | None, column: str, order: list[str]
) -> dict:
    """Who moved between two periods' grades of `column` (`order`: best first).

    Customers graded in both periods are movers (upgrades, downgrades) or kept their grade;
    customers graded now but not then are new, those graded then but not now are gone: both are
    counted and listed apart from movers. Each list carries the previous and current value (and
    predicted value) when the previous period recorded them, which says why a customer moved.
    """
    if previous is None or column not in previous:
        return {"available": False}
    moved = [c for c in MOVED_COLUMNS if c in current]
    before_cols = [c for c in MOVED_COLUMNS if c in previous]
    then = previous.loc[previous[column].notna(), [s.CUSTOMER_ID, column, *before_cols]]
    now = current.loc[current[column].notna(), [s.CUSTOMER_ID, column, *moved]]
    joined = now.rename(columns={column: "current"}).merge(
        then.rename(columns={column: "previous", **{c: MOVED_COLUMNS[c] for c in before_cols}}),
        on=s.CUSTOMER_ID,
        how="outer",
        indicator=True,
    )
    states = [*order, "(new)", "(gone)"]
    matrix = pd.crosstab(
        pd.Categorical(joined["previous"].fillna("(new)"), categories=states),
        pd.Categorical(joined["current"].fillna("(gone)"), categories=states),
        dropna=False,
    )
    matrix.index = matrix.index.astype(str)
    matrix.columns = matrix.columns.astype(str)
    matrix.index.name, matrix.columns.name = "previous", None
    rank = {label: i for i, label in enumerate(order)}
    both = joined[joined["_merge"] == "both"]
    delta = both["current"].map(rank) - both["previous"].map(rank)
    cols = [s.CUSTOMER_ID, "previous", "current"]
    for c, was in MOVED_COLUMNS.items():
        cols += [was] if was in joined else []
        cols += [c] if c in joined else []

    def listed(rows: pd.DataFrame, keep: list[str]) -> pd.DataFrame:
        return rows[[c for c in keep if c in rows]].sort_values(s.CUSTOMER_ID, ignore_index=True)

    upgrades, downgrades = listed(both[delta < 0], cols), listed(both[delta > 0], cols)
    new = listed(joined[joined["_merge"] == "left_only"], [s.CUSTOMER_ID, "current", *moved])
    gone = listed(
        joined[joined["_merge"] == "right_only"],
        [s.CUSTOMER_ID, "previous", *(MOVED_COLUMNS[c] for c in before_cols)],
    )
    changed = float((delta != 0).mean()) if len(both) else float("nan")
    return {
        "available": True,
        "matrix": matrix.reset_index(),
        "kept_share": 1.0 - changed if len(both) else float("nan"),
        "changed_share": changed,
        "upgrades": upgrades,
        "downgrades": downgrades,
        "new": new,
        "gone": gone,
        "counts": {
            "customers_in_both": int(len(both)),
            "changed_share": changed,
            "upgrades": int(len(upgrades)),
            "downgrades": int(len(downgrades)),
            "new_customers": int(len(new)),
            "gone_customers": int(len(gone)),
        },
    }


def policy_labels(cfg_tiering, policy: str) -> list[str]:
    """Grades of a policy, best first."""
    return policy_orders(cfg_tiering.abc, cfg_tiering.pyramid, cfg_tiering.value_potential)[policy]


def policy_orders(abc: dict, pyramid: dict, value_potential: dict) -> dict[str, list[str]]:
    """Each policy's grades, best first, from its own settings (what the audit stage reads of
    `tiering`: not its phrase tables)."""
    levels = list(reversed(value_potential["levels"]))
    return {
        "abc": list(abc["labels"]),
        "pyramid": list(pyramid["labels"]),
        "value_potential": [f"{v}_{p}" for v in levels for p in levels],
    }


def vp_cell_words(cells: pd.Series, cfg_tiering) -> dict[str, pd.Series]:
    """Each value x potential cell's name (en, zh) and strategy, from `tiering.value_potential`."""
    named = cfg_tiering.value_potential["cells"]
    fields = {"vp_cell_en": "en", "vp_cell_zh": "zh", "vp_strategy": "strategy"}
    return {
        column: lookup(cells, lambda c, f=field: named.get(c, {}).get(f, c))
        for column, field in fields.items()
    }
