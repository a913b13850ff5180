"""The tier stage (and `segml score`): scores, grades, status, actions and reasons per customer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from segml.config import TieringConfig
from segml.data import io
from segml.data import schema as s
from segml.machine import at_once
from segml.models.next_purchase import NONE_EXPECTED, days_to_next, expected_within
from segml.models.ranges import range_bounds
from segml.models.scorers import ChurnModel, UpsideModel, check_scorers, unscaled_forecast
from segml.models.segment import Segmenter
from segml.tiering import policies as t
from segml.tiering.attribution import Guide, exact, fit_guide, group_contributions, sample_positions
from segml.tiering.behaviour import with_percentiles
from segml.tiering.periods import Period
from segml.tiering.reasons import ReasonBook, phrase_reasons
from segml.tiering.seams import TRANSACTION_SEAMS, TierSeams

IDENTITY_COLUMNS = TRANSACTION_SEAMS.identity_columns  # per kind: `TierSeams.identity_columns`
RFM_COLUMNS = ["rfm_r", "rfm_f", "rfm_m", "rfm_code", "rfm_segment"]


@dataclass(frozen=True)
class TierResult:
    table: pd.DataFrame  # one row per customer
    movement: dict  # see tiers.movement
    summary: pd.DataFrame  # per primary tier: customers, value share, mean churn risk

    @property
    def metrics(self) -> dict:
        """Counts per tier, lifecycle status and RFM segment, and how many kept their tier."""
        table = self.table
        out = {
            "customers": len(table),
            "movement_available": self.movement["available"],
            "tiers": dict(zip(self.summary["tier"], self.summary["customers"].tolist())),
            "lifecycle": table["lifecycle_status"].value_counts().sort_index().to_dict(),
        }
        if "rfm_segment" in table:
            out["rfm_segments"] = table["rfm_segment"].value_counts().sort_index().to_dict()
        if "predicted_value" in table:  # the forecast's total, and who is expected to buy
            out["forecast_total"] = float(table["predicted_value"].sum())
            out["forecast_customers"] = int(table["predicted_value"].notna().sum())  # graded
            if "expected_next_purchase_date" in table:
                dated = table["expected_next_purchase_date"].notna().sum()
                out["next_purchase_expected"] = int(dated)
        period = self.movement.get("period")
        out["previous_as_of"] = period.as_of if period else None
        if period is not None:
            out["previous_run"] = period.run_id or None
        if self.movement["available"]:
            out["kept_share"] = self.movement["kept_share"]
            out["compared_with"] = self.movement.get("compared_with")
            out["movement"] = self.movement["counts"]
        return out


def action_columns(table: pd.DataFrame, cfg: TieringConfig) -> pd.DataFrame:
    """Action text and owning team (en, zh) for the headline grade and for the lifecycle status."""
    grade_key = table["vp_strategy"] if cfg.primary == "value_potential" else table["tier"]
    sources = {
        "action": (grade_key, cfg.actions.get(cfg.primary, {})),
        "lifecycle_action": (table["lifecycle_status"], cfg.actions.get("lifecycle", {})),
    }
    out = pd.DataFrame(index=table.index)
    for prefix, (key, actions) in sources.items():
        team = t.lookup(key, lambda k, a=actions: a.get(k, {}).get("team", ""))
        for language in ("en", "zh"):
            out[f"{prefix}_team_{language}"] = t.lookup(
                team, lambda k, lang=language: cfg.teams.get(k, {}).get(lang, k)
            )
        for language in ("en", "zh"):
            out[f"{prefix}_{language}"] = t.lookup(
                key, lambda k, a=actions, lang=language: a.get(k, {}).get(lang, "")
            )
    return out


def _label_columns(
    table: pd.DataFrame, grades: pd.DataFrame, segmenter: Segmenter, cfg: TieringConfig
) -> pd.DataFrame:
    """Lifecycle names, RFM scores and segment, and personas that agree with the lifecycle.

    Lifecycle is the time-based truth (tiering.coherence): an RFM segment or a persona that
    contradicts a customer's own dates gives way to one the lifecycle status allows.
    """
    status = table["lifecycle_status"]
    labels = cfg.lifecycle.get("labels", {})
    out = pd.DataFrame(index=table.index)
    for language in ("en", "zh"):
        out[f"lifecycle_{language}"] = t.lookup(
            status, lambda k, lang=language: labels.get(k, {}).get(lang, k)
        )
    if cfg.rfm:
        for column in RFM_COLUMNS:
            out[column] = grades[column]
        names = {rule["key"]: rule for rule in cfg.rfm["segments"]}
        for language in ("en", "zh"):
            out[f"rfm_segment_{language}"] = t.lookup(
                out["rfm_segment"], lambda k, lang=language: names.get(k, {}).get(lang, k)
            )
    persona = t.coherent_personas(table["persona"], status, cfg.coherence)
    out["persona"] = persona
    out["persona_adjusted"] = persona != table["persona"]
    known = segmenter.personas or {}
    for language, position in (("en", 1), ("zh", 2)):
        cluster_name = table[f"persona_{language}"]
        out[f"persona_{language}"] = cluster_name.where(
            ~out["persona_adjusted"],
            t.lookup(persona, lambda k, lang=language: known.get(k, {}).get(lang, k)),
        )
    return out


def explained_customers(table: pd.DataFrame, limit: int | None) -> np.ndarray:
    """Whose reasons come from exact SHAP: everyone, or (above `limit` customers: exact SHAP costs
    a fraction of a millisecond per customer and model, growing with the trees) the `limit` with
    the highest current value and the `limit` with the most value at stake, so the call list and
    the top of the tier sheet are explained exactly. Everyone else's drivers are estimated
    (`segml.tiering.attribution`)."""
    if not limit or len(table) <= limit:
        return np.ones(len(table), dtype=bool)
    value = table["current_value"].clip(lower=0).fillna(0)
    chosen = np.zeros(len(table), dtype=bool)
    for priority in (value, table["value_at_stake"].fillna(0)):
        order = np.lexsort((table[s.CUSTOMER_ID].to_numpy(), -priority.to_numpy()))
        chosen[order[:limit]] = True
    return chosen


def contact_customers(table: pd.DataFrame, cfg: TieringConfig) -> np.ndarray:
    """Customers a team calls or meets: their headline grade's or lifecycle status's action is
    owned by one of `tiering.reasons.contact_teams` (at-risk customers and tier A by default)."""
    teams = set(cfg.reasons.get("contact_teams") or [])
    if cfg.primary == "value_potential":
        cells = cfg.value_potential["cells"]
        grade = t.lookup(table["vp_cell"], lambda c: cells.get(c, {}).get("strategy", c))
    else:
        grade = table["tier"]
    out = np.zeros(len(table), dtype=bool)
    for key, actions in (
        (grade, cfg.actions.get(cfg.primary, {})),
        (table["lifecycle_status"], cfg.actions.get("lifecycle", {})),
    ):
        team = t.lookup(key, lambda k, a=actions: a.get(k, {}).get("team", ""))
        out |= team.isin(teams).to_numpy()
    return out


def reasoned_customers(table: pd.DataFrame, cfg: TieringConfig) -> np.ndarray:
    """Who gets reasons: everyone up to `tiering.reasons.everyone_up_to` customers; above it the
    customers a team calls or meets (`contact_customers`) and those explained exactly."""
    everyone = cfg.reasons.get("everyone_up_to")
    if everyone is None or len(table) <= everyone:
        return np.ones(len(table), dtype=bool)
    return contact_customers(table, cfg)


def value_at_stake(churn_probability: pd.Series, current_value: pd.Series) -> pd.Series:
    """What a customer's leaving would cost: churn probability x their net spend over the value
    window (never below 0). Predicted value already discounts the chance of leaving, so
    multiplying it by the churn probability would count churn twice."""
    return churn_probability * current_value.clip(lower=0)


def churn_bands(churn_probability: pd.Series, cfg: TieringConfig) -> pd.Series:
    """low / medium / high by `tiering.churn_bands` (missing probability: missing band)."""
    p = churn_probability.to_numpy(dtype=float)
    bands = np.select(
        [p >= cfg.churn_bands.high, p >= cfg.churn_bands.medium, ~np.isnan(p)],
        ["high", "medium", "low"],
        "",
    )
    return pd.Series(bands, index=churn_probability.index).replace("", None)


SCORE_COLUMNS = [
    "current_value",
    "predicted_value",
    "predicted_value_p10",  # the range of `upside.interval` (80 %): its low end...
    "predicted_value_p90",  # ...and its high end
    "upside",
    "churn_probability",
    "expected_next_purchase_date",  # empty: none expected within the churn window
    "next_purchase_source",  # own_gaps | typical_repeat_gap | none_expected
]
# per customer from the scores, beside them in the tier table
STAKE_COLUMNS = ["value_at_stake", "churn_band"]


def model_scores(
    snap: pd.DataFrame,
    churn: ChurnModel,
    upside: UpsideModel,
    cfg: TieringConfig,
    horizon_days: int,
    seams: TierSeams = TRANSACTION_SEAMS,
) -> pd.DataFrame:
    """Per customer, on its own row alone: current value, the two models' scores, the value's range
    and the upside, and when a next purchase is expected (`seams`: the kind's value columns)."""
    check_scorers(snap, churn, upside)
    out = pd.DataFrame(index=snap.index)
    out["current_value"], last_period = seams.values(snap, cfg, horizon_days)
    forecast, unscaled = unscaled_forecast(upside, snap)
    out["predicted_value"] = forecast
    out["predicted_value_p10"], out["predicted_value_p90"] = range_bounds(
        upside, unscaled, forecast
    )
    out["upside"] = out["predicted_value"] - last_period
    out["churn_probability"] = churn.predict_proba(snap)
    if seams.next_purchase:  # subscribers' next payment is their fee: no purchase date to expect
        date, source = next_purchase(snap, out["churn_probability"], churn, horizon_days)
        out["expected_next_purchase_date"], out["next_purchase_source"] = date, source
    return out


def next_purchase(
    snap: pd.DataFrame, churn_probability: pd.Series, churn, horizon_days: int
) -> tuple[pd.Series, pd.Series]:
    """Each customer's expected next purchase date (text, empty where none is expected within the
    churn window) and its source (`segml.models.next_purchase`)."""
    # a scorer from before dates were made knows no typical gap: its one-time buyers get none,
    # as a gap from the scored customers would make a customer's date depend on who else is scored
    typical = getattr(churn, "typical_repeat_gap_", float("nan"))
    days, basis = days_to_next(
        snap["recency_days"].to_numpy(),
        snap["frequency"].to_numpy(),
        snap["gap_mean_days"].to_numpy(),
        typical,
    )
    shown = expected_within(days, churn_probability.to_numpy(), horizon_days)
    dates = (snap[s.CUTOFF] + pd.to_timedelta(np.where(shown, days, 0), unit="D")).dt.strftime(
        "%Y-%m-%d"
    )
    return (
        dates.where(shown, None).astype(object),
        pd.Series(np.where(shown, basis, NONE_EXPECTED), index=snap.index, dtype=object),
    )


def grading_columns(cfg: TieringConfig) -> list[str]:
    """The snapshot columns that grading needs besides the scores (ids, dates, RFM inputs)."""
    rfm = list(cfg.rfm["columns"].values()) if cfg.rfm else []
    return list(dict.fromkeys([s.CUSTOMER_ID, "recency_days", "tenure_days", *rfm]))


@dataclass(frozen=True)
class Grades:
    """What needs the whole population, per customer in snapshot order: every policy's grade,
    lifecycle status, RFM scores and segment, who gets reasons (and whose come from exact SHAP),
    and movement."""

    table: pd.DataFrame
    movement: dict
    summary: pd.DataFrame
    reasoned: int  # customers given reasons


def _movement(
    table: pd.DataFrame,
    previous: pd.DataFrame | None,
    previous_period: Period | None,
    cfg: TieringConfig,
) -> dict:
    """Movement since `previous` under the headline policy; when there is one, `table` gains each
    customer's `previous_tier`, `previous_value` and `tier_change` (new/up/down/same)."""
    order = t.policy_labels(cfg, cfg.primary)
    ids = table[s.CUSTOMER_ID]
    previous_by_id = previous.set_index(s.CUSTOMER_ID) if previous is not None else None
    # Movement compares the headline policy's own column, so switching policy still compares like with like.
    column = t.TIER_COLUMNS[cfg.primary]
    move = t.movement(table, previous, column, order)
    move["period"] = previous_period if move["available"] else None
    if move["available"]:
        move["compared_with"] = previous_period.label if previous_period else None
        rank = {label: i for i, label in enumerate(order)}
        prev = previous_by_id[column].reindex(ids).set_axis(table.index)
        delta = table[column].map(rank) - prev.map(rank)
        table["previous_tier"] = prev
        table["previous_value"] = (
            previous_by_id["current_value"].reindex(ids).set_axis(table.index).where(prev.notna())
            if "current_value" in previous_by_id
            else np.nan
        )
        table["tier_change"] = np.select(
            [prev.isna(), delta < 0, delta > 0], ["new", "up", "down"], "same"
        )
    return move


def grade_customers(
    snap: pd.DataFrame,
    scores: pd.DataFrame,
    cfg: TieringConfig,
    previous: pd.DataFrame | None = None,
    previous_period: Period | None = None,
    seams: TierSeams = TRANSACTION_SEAMS,
) -> Grades:
    """Grades under every configured policy from `scores` (`model_scores`) and the snapshot's
    `grading_columns`, both in customer-id order."""
    table = pd.DataFrame({s.CUSTOMER_ID: snap[s.CUSTOMER_ID].to_numpy()})
    for column in [c for c in SCORE_COLUMNS if c in scores]:
        table[column] = scores[column].to_numpy()
    table["value_at_stake"] = value_at_stake(table["churn_probability"], table["current_value"])
    table["churn_band"] = churn_bands(table["churn_probability"], cfg)
    ids, value = table[s.CUSTOMER_ID], table["current_value"]
    previous_by_id = previous.set_index(s.CUSTOMER_ID) if previous is not None else None

    def held(column: str, current: pd.Series, position, bounds, labels) -> pd.Series:
        if previous_by_id is None or column not in previous_by_id:
            return current
        prev = previous_by_id[column].reindex(ids).set_axis(current.index)
        return t.apply_hysteresis(current, prev, position, bounds, labels, cfg.hysteresis)

    abc = cfg.abc
    table["tier_abc"] = held(
        "tier_abc",
        t.abc_tiers(value, ids, abc["labels"], abc["cumulative_shares"]),
        t.abc_position(value, ids),
        abc["cumulative_shares"],
        abc["labels"],
    )
    pyr = cfg.pyramid
    table["tier_pyramid"] = held(
        "tier_pyramid",
        t.pyramid_tiers(value, ids, pyr["labels"], pyr["customer_shares"]),
        t.pyramid_position(value, ids),
        list(np.cumsum(pyr["customer_shares"])[:-1]),
        pyr["labels"],
    )
    vp = cfg.value_potential
    table["value_level"] = t.levels(value, vp["cuts"], vp["levels"])
    table["potential_level"] = t.levels(table["predicted_value"], vp["cuts"], vp["levels"])
    table["vp_cell"] = table["value_level"] + "_" + table["potential_level"]
    status = seams.lifecycle(snap, table["churn_probability"], cfg)
    table["lifecycle_status"] = status
    if cfg.rfm:
        scores_rfm = t.rfm_scores(snap.reset_index(drop=True), cfg.rfm)
        table = pd.concat([table, scores_rfm], axis=1)
        table["rfm_segment"] = t.rfm_segments(
            scores_rfm, status, cfg.rfm["segments"], cfg.coherence
        )
    table["tier"] = table[t.TIER_COLUMNS[cfg.primary]]
    explained = explained_customers(table, cfg.reasons.get("max_customers"))
    table["explained"] = explained
    table["reasoned"] = explained | reasoned_customers(table, cfg)

    order = t.policy_labels(cfg, cfg.primary)
    move = _movement(table, previous, previous_period, cfg)
    summary = tier_summary(table, order)  # tiers are for customers who bought
    return Grades(table, move, summary, int(table["reasoned"].sum()))


def describe_customers(
    snap: pd.DataFrame,
    grades: pd.DataFrame,
    segmenter: Segmenter,
    churn: ChurnModel,
    upside: UpsideModel,
    cfg: TieringConfig,
    horizon_days: int,
    guide: Guide,
    seams: TierSeams = TRANSACTION_SEAMS,
) -> pd.DataFrame:
    """The tier table's rows for these customers (any subset, in snapshot order, with their rows
    of `Grades.table`): persona, names in both languages, actions and reasons. Nothing here looks
    at another customer (`guide` holds what reasons need from the whole population), so a
    partition of customers gives its own rows of the whole table."""
    snap = snap.reset_index(drop=True)
    grades = grades.reset_index(drop=True)
    table = segmenter.assign(snap)
    table.insert(1, "as_of", snap[s.CUTOFF].dt.strftime("%Y-%m-%d"))
    for column in [
        *[c for c in SCORE_COLUMNS if c in grades],
        *STAKE_COLUMNS,
        "tier_abc",
        "tier_pyramid",
        "value_level",
        "potential_level",
    ]:
        table[column] = grades[column]
    table["vp_cell"] = grades["vp_cell"]
    for column, words in t.vp_cell_words(table["vp_cell"], cfg).items():
        table[column] = words
    table["lifecycle_status"] = grades["lifecycle_status"]
    labelled = _label_columns(table, grades, segmenter, cfg)
    for column in labelled.columns:  # persona columns keep their place; new ones go at the end
        table[column] = labelled[column]
    table["tier_policy"] = cfg.primary
    table["tier"] = grades["tier"]
    table = pd.concat([table, action_columns(table, cfg)], axis=1)

    reasoned = grades["reasoned"].to_numpy(dtype=bool)
    explained = grades["explained"].to_numpy(dtype=bool)[reasoned]
    note = cfg.reasons.get("not_computed", {})
    for column, texts in customer_reasons(
        snap[reasoned], explained, churn, upside, cfg, horizon_days, guide, seams
    ):
        language = column.rsplit("_", 1)[1]
        out = np.full(len(table), note.get(language, ""), dtype=object)
        out[reasoned] = texts
        table[column] = out
    for column in seams.identity_columns:
        table[column] = snap[column].to_numpy()
    for column in ("previous_tier", "previous_value", "tier_change"):
        if column in grades:
            table[column] = grades[column]
    return table


def reason_book(cfg: TieringConfig) -> ReasonBook:
    return ReasonBook(cfg.reasons, cfg.value_window_days)


def reasons_estimated(customers: int, cfg: TieringConfig) -> bool:
    """Whether some customers' drivers are estimated (more customers than exact SHAP is given to)."""
    limit = cfg.reasons.get("max_customers")
    return bool(limit) and customers > limit


def sample_contributions(
    sample: pd.DataFrame, models: dict, estimated: bool
) -> dict[str, pd.DataFrame]:
    """The sample's exact contributions per target whose drivers are estimated for some customers
    (none when everyone is explained exactly, or for a baseline rule)."""
    if not estimated or not len(sample):
        return {}
    return {t: m.contributions(sample) for t, m in models.items() if not exact(m)}


def _facts(snap: pd.DataFrame, cfg: TieringConfig, horizon_days: int, seams: TierSeams):
    window = int(cfg.reasons.get("window_days", 90))
    words = cfg.reasons.get("usage_kinds") or {}  # tiering.usage_words
    facts = seams.facts(snap, window, cfg.value_window_days, horizon_days, words)
    return facts.saying(cfg.reasons.get("value_words") or {})  # tiering.value_words


def reason_guide(
    sample: pd.DataFrame,
    shap: dict,
    models: dict,
    cfg: TieringConfig,
    horizon_days: int,
    seams: TierSeams = TRANSACTION_SEAMS,
) -> Guide:
    """What reasons need from the whole population, from its evenly spaced sample (the same
    customers for every engine): see `segml.tiering.attribution.fit_guide`."""
    facts = _facts(sample, cfg, horizon_days, seams)
    return fit_guide(sample, shap, models, reason_book(cfg), facts)


def customer_reasons(
    snap: pd.DataFrame,
    explained: np.ndarray,
    churn: ChurnModel,
    upside: UpsideModel,
    cfg: TieringConfig,
    horizon_days: int,
    guide: Guide,
    seams: TierSeams = TRANSACTION_SEAMS,
):
    """(column, texts) of the churn and value reasons in both languages, for every customer of
    `snap` (`explained`: whose drivers are exact SHAP)."""
    book = reason_book(cfg)
    facts = with_percentiles(_facts(snap, cfg, horizon_days, seams), guide.ranks)
    for target, model in (("churn", churn), ("value", upside)):
        contributions = group_contributions(model, snap, explained, target, book, guide)
        for language, texts in phrase_reasons(contributions, facts, book, target).items():
            yield f"{target}_reasons_{language}", texts


def score_customers(
    snapshot: pd.DataFrame,
    segmenter: Segmenter,
    churn: ChurnModel,
    upside: UpsideModel,
    cfg: TieringConfig,
    horizon_days: int,
    previous: pd.DataFrame | None = None,
    previous_period: Period | None = None,
    no_purchase: pd.DataFrame | None = None,
    seams: TierSeams = TRANSACTION_SEAMS,
) -> TierResult:
    """Score the snapshot and grade every customer under every configured policy; movement against
    `previous` (the tier table of `previous_period`). Customers with no
    usable purchase (`no_purchase`, from prepare) are listed with a status instead of a tier.
    In one process; `segml.tiering.partitioned` runs the same steps with scores and descriptions
    per partition and grades for the whole population. `seams`: the kind's (`data.kind`)."""
    cfg = seams.tiering(cfg)
    snap = snapshot.sort_values(s.CUSTOMER_ID, ignore_index=True)
    scores = model_scores(snap, churn, upside, cfg, horizon_days, seams)
    grades = grade_customers(snap, scores, cfg, previous, previous_period, seams)
    positions = sample_positions(len(snap), cfg.reasons.get("sample_customers"))
    sample = snap.iloc[positions]
    models = {"churn": churn, "value": upside}
    shap = sample_contributions(sample, models, reasons_estimated(len(snap), cfg))
    guide = reason_guide(sample, shap, models, cfg, horizon_days, seams)
    table = describe_customers(
        snap, grades.table, segmenter, churn, upside, cfg, horizon_days, guide, seams
    )
    table = with_non_buyers(table, non_buyers(no_purchase), cfg)
    return TierResult(table, grades.movement, grades.summary)


def non_buyers(no_purchase: pd.DataFrame | None) -> pd.DataFrame | None:
    """prepare's customers without a usable purchase, or None when there are none at all."""
    return None if no_purchase is None or no_purchase.empty else no_purchase


def with_non_buyers(
    table: pd.DataFrame, no_purchase: pd.DataFrame | None, cfg: TieringConfig
) -> pd.DataFrame:
    """Every customer of the input in the table: those with no usable purchase (every row rejected,
    refunds only, free orders only, or in the customer file but never bought) get a status that
    says why, no tier.

    `no_purchase` is None when the population has none; a partition with none gets an empty one,
    so its columns and their types are those of every other partition."""
    if no_purchase is None:
        return _settled(table)
    tiered = pd.Index(table[s.CUSTOMER_ID])  # unique ids: a hash lookup, not a Python loop
    extra = no_purchase[tiered.get_indexer(no_purchase[s.CUSTOMER_ID]) < 0]
    labels, actions = cfg.lifecycle.get("labels", {}), cfg.actions.get("lifecycle", {})
    status = extra["status"].astype(str)
    rows = pd.DataFrame(
        {
            s.CUSTOMER_ID: extra[s.CUSTOMER_ID].astype(str).to_numpy(),
            "as_of": table["as_of"].iloc[0] if len(table) else None,
            "lifecycle_status": status.to_numpy(),
        }
    )
    # why no tier, in each language as the other reason columns (an older prepared table: English)
    for language, column in (("en", "reject_reasons"), ("zh", "reject_reasons_zh")):
        reasons = extra[column] if column in extra else pd.Series("", index=extra.index)
        rows[f"status_reason_{language}"] = reasons.fillna("").astype(str).to_numpy()
    for language in ("en", "zh"):
        rows[f"lifecycle_{language}"] = [labels.get(k, {}).get(language, k) for k in status]
        rows[f"lifecycle_action_{language}"] = [
            actions.get(k, {}).get(language, "") for k in status
        ]
        rows[f"lifecycle_action_team_{language}"] = [
            cfg.teams.get(actions.get(k, {}).get("team", ""), {}).get(language, "") for k in status
        ]
    # whole numbers stay whole (RFM scores, counts) and yes/no stays yes/no where the new rows
    # have none
    nullable = {c: "Int64" for c in table.columns if pd.api.types.is_integer_dtype(table[c])}
    nullable |= {c: "boolean" for c in table.columns if pd.api.types.is_bool_dtype(table[c])}
    out = pd.concat([table.astype(nullable), rows], ignore_index=True)
    # every column gathered into id order, side by side: each is a new array as long as the
    # table, and filling new memory is most of the cost
    order = np.argsort(out[s.CUSTOMER_ID].to_numpy(), kind="stable")
    columns = at_once({c: partial(_taken, out[c], order) for c in out.columns})
    return _settled(pd.DataFrame(columns, copy=False))


def _taken(column: pd.Series, order: np.ndarray) -> pd.Series:
    return column.take(order).reset_index(drop=True)


def _settled(table: pd.DataFrame) -> pd.DataFrame:
    """Each column one type, whichever customers the table holds: object columns (reasons, and
    text columns that only some rows fill) become text or yes/no, so every partition's file of
    the tier table has the same schema."""
    return table.assign(**{c: io.one_type(table[c]) for c in table if table[c].dtype == object})


def tier_summary(table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Customers, value share, mean churn risk and mean predicted value per headline tier. Value
    is counted as everywhere a business user reads it: each customer's net spend, never below 0
    (a customer who returned more than they bought brings nothing, and takes nothing from the
    tier's total)."""
    value = table["current_value"].clip(lower=0)
    total = value.sum()
    grouped = table.assign(current_value=value).groupby("tier")
    out = (
        pd.DataFrame(
            {
                "customers": grouped.size(),
                "customer_share": grouped.size() / max(len(table), 1),
                "current_value": grouped["current_value"].sum(),
                "value_share": grouped["current_value"].sum() / total if total > 0 else 0.0,
                "mean_churn_probability": grouped["churn_probability"].mean(),
                "mean_predicted_value": grouped["predicted_value"].mean(),
            }
        )
        .reindex(order)
        .dropna(how="all", subset=["customers"])
    )
    out["customers"] = out["customers"].astype("int64")
    return out.rename_axis("tier").reset_index()
