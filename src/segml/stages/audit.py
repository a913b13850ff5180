"""The audit stage: did earlier periods' grades come true? Each earlier accepted period of this
export whose horizon has (at least partly) elapsed, read back from the MLflow store, measured
against this run's clean data (the kind's realized outcomes: bought again or still subscribed,
and revenue; `segml.stages.outcomes`); stability between consecutive periods."""

from __future__ import annotations

import os

import pandas as pd

from segml.config import Config
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.reporting import run_history
from segml.stages.kinds import kind_of
from segml.stages.outcomes import Measure, both_outcomes
from segml.stages.parts import BOTH
from segml.stages.step import Engine
from segml.tiering import audit as a
from segml.tiering import policies as t
from segml.tiering.periods import Period, audited_periods, elapsed_days, pinned
from segml.tiering.realized import RATES, STAYED


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    wanted = [s.CUSTOMER_ID, "as_of", *t.TIER_COLUMNS.values(), "tier", *cfg.audit.psi_columns]
    tiers = catalog.read_columns("tiers", list(dict.fromkeys(wanted)))
    as_of = str(tiers["as_of"].dropna().iloc[0]) if tiers["as_of"].notna().any() else ""
    record = audit(cfg, catalog, tiers, as_of)
    rate = RATES[STAYED] if cfg.data.kind == BOTH else kind_of(cfg).realized.rate
    catalog.write_metrics("audit_metrics", record, headline(record, rate))


def headline(record: dict, rate: str = "repurchase_rate") -> dict:
    """The audit numbers DVC compares (README, "DVC metrics"): how many earlier periods were
    measured, and how the most recent of them fared (`rate`: the share who stayed, bought again
    or still subscribed). Per tier, per band and stability stay in the details
    (metrics/audit_details.json)."""
    latest = record["periods"][-1] if record["periods"] else {}
    return {
        "audit": {
            "periods": len(record["periods"]),
            rate: latest.get(rate),
            "churn_roc_auc": latest.get("churn_roc_auc"),
        }
    }


def audit(cfg: Config, catalog: Catalog, tiers: pd.DataFrame, as_of: str) -> dict:
    """audit.json: the audited periods, and stability between consecutive periods up to now."""
    out = {"as_of": as_of, "periods": [], "stability": [], "psi_warning": cfg.audit.psi_warning}
    if not cfg.audit.periods_ref:  # nothing pinned: in-memory runs, experiments
        return {**out, "note": "no earlier period pinned (audit.periods_ref)"}
    # the periods `segml compose` pinned (what DVC saw change), not a new search of the store: a
    # run logged since then must not slip into a stage DVC considers up to date
    history = run_history.period_history(
        cfg.tracking.uri, cfg.tracking.experiment, run_history.export_of(cfg)
    ).periods
    chain, missing = pinned(history, cfg.audit.periods_ref)
    chain = [p for p in chain if p.as_of < as_of]
    audited = audited_periods(chain, as_of, cfg.audit.min_elapsed_days, cfg.audit.max_periods)
    if missing:
        out["missing_periods"] = missing
    if not chain:
        return {**out, "note": "no earlier period of this export to audit yet"}
    salt = os.environ.get(cfg.export.salt_env) if cfg.export.pseudonymize_ids else None
    ids = tiers[s.CUSTOMER_ID].astype(str)
    bases = {}
    for period in chain:  # ids logged as pseudonyms are matched to today's with the same salt
        logged = run_history.period_base(cfg.tracking.uri, period.run_id, cfg.paths.in_mlflow_run)
        matched = run_history.with_current_ids(logged, ids, salt) if logged is not None else None
        if matched is not None:
            bases[period.run_id] = matched
    since = min(p.as_of for p in chain)
    if cfg.data.kind == BOTH:  # subscribers by their spells, the others by their purchases
        active = cfg.labels.active_within_days or 365
        measure = both_outcomes(catalog, cfg.features.subscriptions, since, active)
    else:
        measure = kind_of(cfg).realized.read(catalog, cfg.features.subscriptions, since)
    for period in audited:
        if period.run_id not in bases:
            continue
        out["periods"].append(_audited(cfg, period, bases[period.run_id], measure, ids, as_of))
    out["stability"] = _stability(cfg, [p for p in chain if p.run_id in bases], bases, tiers)
    if not out["periods"]:
        out["note"] = "no earlier period whose horizon has started to elapse could be read"
    return out


def _orders(cfg: Config) -> dict[str, list[str]]:
    """Each tier policy's grades, best first: of `tiering`, the audit reads only these settings
    and `primary` (its DVC params; the phrase tables are the tier and export stages')."""
    return t.policy_orders(cfg.tiering.abc, cfg.tiering.pyramid, cfg.tiering.value_potential)


def _audited(
    cfg: Config, period: Period, base: pd.DataFrame, measure: Measure, ids: pd.Series, as_of: str
) -> dict:
    horizon = period.horizon_days or cfg.labels.horizon_days
    elapsed = elapsed_days(period, as_of, horizon)
    realized = measure(period.as_of, elapsed)
    policy = period.policy if period.policy in t.TIER_COLUMNS else cfg.tiering.primary
    found = a.audit_period(
        base,
        realized,
        period,
        as_of,
        horizon,
        period.active_within_days or cfg.labels.active_within_days,
        _orders(cfg)[policy],
        cfg.audit.probability_bands,
    )
    found["matched_share"] = float(base[s.CUSTOMER_ID].isin(ids).mean()) if len(base) else 0.0
    return found


def _stability(
    cfg: Config, chain: list[Period], bases: dict[str, pd.DataFrame], tiers: pd.DataFrame
) -> list[dict]:
    """Each consecutive pair of periods, ending with this run."""
    column = t.TIER_COLUMNS[cfg.tiering.primary]
    order = _orders(cfg)[cfg.tiering.primary]
    steps = [(p.as_of, bases[p.run_id]) for p in chain] + [(None, tiers)]
    out = []
    for (start, earlier), (end, later) in zip(steps, steps[1:]):
        found = a.stability(
            earlier,
            later,
            column if column in earlier else "tier",
            order,
            list(cfg.audit.psi_columns),
            cfg.audit.psi_bins,
            cfg.audit.psi_warning,
            {"churn_probability": list(cfg.audit.probability_bands)},
        )
        out.append({"from": start, "to": end or str(tiers["as_of"].dropna().iloc[0]), **found})
    return out
