"""The audit: did last period's grades come true?

A grade is a forecast; the periods after it are its test. For an earlier period, from the grades
and scores it recorded per customer and what each customer really did since (`realized`: did they
stay, how much revenue came in), this measures per tier and per lifecycle status the customers,
the share who stayed, revenue and share of revenue; the churn scores' ROC AUC and calibration per
probability band; the value forecast's normalised Gini and total against the realized total.
Between consecutive periods it measures stability: the tier transition matrix and the population
stability index (PSI) of the main features and of the scores.

"Stayed" is the kind's own outcome, named by the realized table's column and, in audit.json, by
its rate: `repurchased` / `repurchase_rate` for purchases (bought again in the window), `retained`
/ `retention_rate` for subscribers (no cancellation in the window, as the churn label counts it).
Everything here works on per-customer tables (tiers, scores, realized outcomes), whatever
recorded the behaviour (`tiering.realized` builds the realized tables from purchases or spells).
Results are aggregates only: no customer id leaves this module.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.models import evaluation as ev
from segml.tiering import policies as t
from segml.tiering.audit_record import LIFECYCLE_ORDER, rate_key
from segml.tiering.periods import Period, elapsed_days
from segml.tiering.realized import RATES, REPURCHASED, RETAINED, REVENUE, RUNNING, STAYED


def _rate(values: pd.Series) -> float:
    return float(values.mean()) if len(values) else float("nan")


def _breakdown(frame: pd.DataFrame, by: str, order: list[str], outcome: str) -> dict[str, dict]:
    """Per group: customers, the share who stayed (`outcome`), revenue and share of the frame's
    revenue."""
    total = float(frame[REVENUE].sum())
    out = {}
    groups = frame.groupby(by, sort=True)
    for key in [k for k in order if k in groups.groups] + sorted(
        k for k in groups.groups if k not in order
    ):
        rows = groups.get_group(key)
        revenue = float(rows[REVENUE].sum())
        out[str(key)] = {
            "customers": int(len(rows)),
            RATES[outcome]: _rate(rows[outcome]),
            "revenue": revenue,
            "revenue_share": revenue / total if total > 0 else float("nan"),
        }
    return out


def calibration_bands(y: np.ndarray, p: np.ndarray, bands: list[float]) -> list[dict]:
    """Predicted against realized churn per band of predicted probability [low, high)."""
    edges = np.asarray(bands, dtype=float)
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    out = []
    for k in range(len(edges) - 1):
        mask = which == k
        if mask.any():
            out.append(
                {
                    "low": float(edges[k]),
                    "high": float(edges[k + 1]),
                    "customers": int(mask.sum()),
                    "predicted": float(p[mask].mean()),
                    "realized": float(y[mask].mean()),
                }
            )
    return out


def audit_period(
    base: pd.DataFrame,
    realized: pd.DataFrame,
    period: Period,
    as_of: str,
    horizon_days: int,
    active_within_days: int | None,
    tier_order: list[str],
    bands: list[float],
) -> dict:
    """How an earlier period's grades (`base`: its logged table with today's ids) fared, from
    `realized` (per customer: repurchased or retained, revenue, over the part of its horizon before
    `as_of`). Churn and value are measured on the customers its models were measured on: those
    `realized` marks `running` at the period's as_of (subscribers), else those who bought in the
    `active_within_days` before it; the value totals on every graded customer, as the period's own
    forecast total (`forecast_total` of its tier metrics) counts them."""
    elapsed = elapsed_days(period, as_of, horizon_days)
    outcome = next((o for o in (RETAINED, STAYED) if o in realized), REPURCHASED)
    rate = RATES[outcome]
    table = base.merge(realized, on=s.CUSTOMER_ID, how="left")
    for flag in (outcome, RUNNING) if RUNNING in realized else (outcome,):
        table[flag] = table[flag].fillna(False).astype(bool)
    table[REVENUE] = table[REVENUE].fillna(0.0).astype(float)
    tiered = table[table["tier"].notna()] if "tier" in table else table.iloc[0:0]
    by_tier = _breakdown(tiered, "tier", tier_order, outcome) if len(tiered) else {}
    out = {
        "as_of": period.as_of,
        "run": period.run_id[:8],
        "horizon_days": int(horizon_days),
        "elapsed_days": int(elapsed),
        "complete": elapsed >= horizon_days,
        "window_end": str((pd.Timestamp(period.as_of) + pd.Timedelta(days=elapsed)).date()),
        "customers": int(len(tiered)),
        # who the churn forecast was measured on (the words say it: bought within these days)
        "forecast_within_days": int(active_within_days) if active_within_days else None,
        rate: _rate(tiered[outcome]),
        "revenue": float(tiered[REVENUE].sum()),
        "tier_policy": period.policy,
        "by_tier": by_tier,
        "tier_order": list(by_tier),  # the JSON's keys are sorted: the order people read
        f"{rate}_by_tier": {k: v[rate] for k, v in by_tier.items()},
        "by_lifecycle": _breakdown(table, "lifecycle_status", LIFECYCLE_ORDER, outcome)
        if "lifecycle_status" in table
        else {},
    }
    if "churn_kind" in tiered:  # data.kind both: each part's share who stayed and its forecasts
        parts = _breakdown(tiered.dropna(subset=["churn_kind"]), "churn_kind", [], outcome)
        for kind, found in parts.items():
            rows = tiered[(tiered["churn_kind"] == kind).to_numpy()]
            found.update(_forecasts(rows, outcome, active_within_days, bands))
        out["by_churn_kind"] = parts
    return {**out, **_forecasts(tiered, outcome, active_within_days, bands)}


def _forecasts(
    tiered: pd.DataFrame, outcome: str, active_within_days: int | None, bands: list[float]
) -> dict:
    """The churn and value forecasts against what happened; churned = did not stay. Churn and the
    value ranking on the models' population (`forecast_customers`); the value totals on every
    graded customer (`tiered`), so the predicted total is the period's own forecast total (its
    long-lapsed customers' small forecasts too) and the realized one what the same customers
    spent."""
    population = tiered
    if RUNNING in tiered:
        population = tiered[tiered[RUNNING]]
    elif active_within_days and "recency_days" in tiered:
        population = tiered[tiered["recency_days"] <= active_within_days]
    out: dict = {"forecast_customers": int(len(population))}
    if "churn_probability" in population and len(population):
        p = population["churn_probability"].to_numpy(dtype=float)
        y = (~population[outcome]).to_numpy(dtype=float)
        out.update(
            churn_roc_auc=ev.rank_auc(y, p),
            churn_predicted=float(p.mean()),
            churn_realized=float(y.mean()),
            calibration=calibration_bands(y, p, bands),
        )
    if "predicted_value" in population and len(population):
        predicted = population["predicted_value"].to_numpy(dtype=float)
        spent = np.clip(population[REVENUE].to_numpy(dtype=float), 0, None)
        out.update(value_gini=ev.normalized_gini(spent, predicted))
    if "predicted_value" in tiered and len(tiered):
        out.update(
            predicted_value_total=float(tiered["predicted_value"].sum()),
            realized_value_total=float(tiered[REVENUE].clip(lower=0).sum()),
        )
    return out


def psi(
    earlier: pd.Series, later: pd.Series, bins: int = 10, edges: list[float] | None = None
) -> float:
    """Population stability index of `later` against `earlier`, over `bins` bins cut at the
    earlier period's quantiles (ties merge bins), or at fixed `edges` (a probability's bands: a
    step-shaped score refit each month would otherwise move whole steps across a quantile cut);
    empty bins count as 0.01 %."""
    before = pd.to_numeric(earlier, errors="coerce").dropna().to_numpy(dtype=float)
    after = pd.to_numeric(later, errors="coerce").dropna().to_numpy(dtype=float)
    if not len(before) or not len(after):
        return float("nan")
    if edges is not None:
        edges = np.asarray(edges, dtype=float)[1:-1]
    else:
        edges = np.unique(np.quantile(before, np.linspace(0, 1, bins + 1)[1:-1]))
    shares = [
        np.maximum(
            np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1) / len(v),
            1e-4,
        )
        for v in (before, after)
    ]
    return float(np.sum((shares[1] - shares[0]) * np.log(shares[1] / shares[0])))


def stability(
    earlier: pd.DataFrame,
    later: pd.DataFrame,
    column: str,
    order: list[str],
    psi_columns: list[str],
    bins: int,
    warning: float,
    bands: dict[str, list[float]] | None = None,
) -> dict:
    """Between two consecutive periods' tables: the transition matrix of `column` (rows: the
    earlier grade, columns: the later one, with new and gone customers) and each column's PSI
    (cut at fixed `bands` for the columns named there), with the columns over `warning` (drift)."""
    graded = [
        frame[frame[column].notna()] if column in frame else frame for frame in (earlier, later)
    ]
    moved = t.movement(graded[1], graded[0], column, order)
    values = {
        c: psi(graded[0][c], graded[1][c], bins, (bands or {}).get(c))
        for c in psi_columns
        if c in graded[0] and c in graded[1]
    }
    return {
        "column": column,
        "changed_share": moved.get("changed_share", float("nan")),
        "transitions": moved["matrix"].set_index("previous").to_dict("index")
        if moved["available"]
        else {},
        "psi": values,
        "drift": [c for c, v in values.items() if v == v and v > warning],
    }


def audit_metrics(audit: dict) -> dict[str, float]:
    """The audit as flat MLflow metrics on the current run: per audited period (by its date),
    the churn ROC AUC, value Gini, totals and each tier's share who stayed (`repurchase_rate.<tier>`
    or, for subscribers, `retention_rate.<tier>`); the largest PSI to this period and the number
    of drifting columns."""
    out: dict[str, float] = {}

    def put(key: str, value) -> None:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[key] = float(value)

    for period in audit.get("periods", []):
        at = period["as_of"]
        for key in (
            "churn_roc_auc",
            "value_gini",
            "predicted_value_total",
            "realized_value_total",
            "matched_share",
        ):
            put(f"{at}.{key}", period.get(key))
        put(f"{at}.elapsed_days", period.get("elapsed_days"))
        rate_name = rate_key(period)
        for tier, rate in period.get(f"{rate_name}_by_tier", {}).items():
            put(f"{at}.{rate_name}.{tier}", rate)
        for kind, found in period.get("by_churn_kind", {}).items():  # data.kind both
            put(f"{at}.{kind}.{rate_name}", found.get(rate_name))
            put(f"{at}.{kind}.churn_roc_auc", found.get("churn_roc_auc"))
    latest = (audit.get("stability") or [{}])[-1]
    values = [v for v in latest.get("psi", {}).values() if v == v]
    put("psi_max", max(values) if values else float("nan"))
    put("drift_columns", len(latest.get("drift", [])))
    return out
