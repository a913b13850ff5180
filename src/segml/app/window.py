"""The churn window study (`segml window`): the features and train stages run again for each
churn window H on the prepared data, in memory, and what changes with H is put side by side: the
churn rate, the model's and the best baseline's backtest ROC AUC and grade, the value model's
normalised Gini, and how many customers would change lifecycle status against this run's window.

Not a pipeline stage: it costs the features and train stages once per window (about four times
the two at the default four windows), so on big data it runs on a sample of customers.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime

import numpy as np
import pandas as pd

from segml.app.pipeline import run_stages
from segml.config import Config
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.errors import SegmlError
from segml.stages import features, train
from segml.tiering.policies import lifecycle_status

HORIZONS = (30, 60, 90, 180)
STATUSES = ("new", "active", "at_risk", "lost")


def sample_customers(transactions: pd.DataFrame, customers: pd.DataFrame | None, n: int | None):
    """At most `n` customers: those whose id hashes lowest (the same ones every time, whatever
    the row order), with all their rows."""
    ids = pd.Series(transactions[s.CUSTOMER_ID].unique())
    if not n or len(ids) <= n:
        return transactions, customers
    key = pd.util.hash_pandas_object(ids, index=False).to_numpy()
    kept = set(ids.iloc[np.argpartition(key, n - 1)[:n]])
    chosen = transactions[transactions[s.CUSTOMER_ID].isin(kept)].reset_index(drop=True)
    if customers is not None:
        customers = customers[customers[s.CUSTOMER_ID].isin(kept)].reset_index(drop=True)
    return chosen, customers


def _one_window(cfg: Config, memory: Catalog, horizon: int) -> tuple[dict, pd.Series]:
    """The features and train stages at churn window `horizon`: the figures, and each snapshot
    customer's lifecycle status under the window's production churn scorer."""
    at_h = dataclasses.replace(cfg, labels=dataclasses.replace(cfg.labels, horizon_days=horizon))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a thin schedule's warnings are in the figures
        run_stages((features.run, train.run), at_h, memory)
    seconds = time.perf_counter() - start
    schedule, churn = memory.read("schedule"), memory.read("churn_metrics")
    upside, summary = memory.read("upside_metrics"), churn["summary"]
    snapshot = memory.read("snapshot")
    probability = pd.Series(
        memory.read("churn_model").predict_proba(snapshot), index=snapshot.index
    )
    status = lifecycle_status(
        snapshot["recency_days"], snapshot["tenure_days"], probability, cfg.tiering.lifecycle
    )
    best = summary.get("best_baseline")
    row = {
        "horizon_days": horizon,
        "schedule": schedule.get("schedule_choice", {}).get("chosen"),
        "folds": summary.get("folds", 0),
        "churn_rate": schedule.get("churn_rate"),
        "model_roc_auc": churn.get("model", {}).get("roc_auc"),
        "model_roc_auc_spread": churn.get("spread", {}).get("model", {}).get("roc_auc"),
        "best_baseline": best,
        "baseline_roc_auc": churn.get(best, {}).get("roc_auc") if best else None,
        "grade": summary.get("grade"),
        "verdict_en": summary.get("verdict_en"),
        "verdict_zh": summary.get("verdict_zh"),
        "scorer": churn.get("production", {}).get("scorer"),
        "value_gini": upside.get("model", {}).get("normalized_gini"),
        "value_grade": upside.get("summary", {}).get("grade"),
        "status": {k: int((status == k).sum()) for k in STATUSES},
        "seconds": round(seconds, 1),
    }
    return row, pd.Series(status.to_numpy(), index=snapshot[s.CUSTOMER_ID].to_numpy())


def window_study(
    cfg: Config,
    transactions: pd.DataFrame,
    customers: pd.DataFrame | None,
    horizons: Iterable[int] = HORIZONS,
    sample: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """The study on prepared transactions (and customers): one row per window, each with its
    lifecycle changes against this run's window (`labels.horizon_days`, studied too when not
    listed). A window the history cannot support gets its reason instead of figures."""
    transactions, customers = sample_customers(transactions, customers, sample)
    memory = Catalog.from_config(cfg.paths).in_memory()
    memory.write("prepared_transactions", transactions)
    if customers is not None:
        memory.write("prepared_customers", customers)
    configured = cfg.labels.horizon_days
    wanted = sorted({*horizons, configured})
    rows, statuses = [], {}
    for horizon in wanted:
        if progress:
            progress(horizon)
        try:
            row, statuses[horizon] = _one_window(cfg, memory, horizon)
        except SegmlError as exc:  # e.g. too little history for this window
            row = {"horizon_days": horizon, "error": str(exc)}
        rows.append(row)
    base = statuses.get(configured)
    for row in rows:
        status = statuses.get(row["horizon_days"])
        if base is not None and status is not None:
            row["changed_status"] = int((status.reindex(base.index) != base).sum())
            moves = pd.crosstab(base.rename("from"), status.reindex(base.index).rename("to"))
            row["moves"] = {
                f"{a} to {b}": int(moves.loc[a, b])
                for a in moves.index
                for b in moves.columns
                if a != b and moves.loc[a, b]
            }
    return {
        "computed_at": datetime.now().isoformat(timespec="seconds"),
        "as_of": cfg.as_of or _last_day(transactions),
        "configured_horizon_days": configured,
        "customers": int(transactions[s.CUSTOMER_ID].nunique()),
        "sample": sample,
        "windows": rows,
    }


def _last_day(transactions: pd.DataFrame) -> str:
    return str(pd.Timestamp(transactions[s.TS].max()).date())


def window_table(study: dict) -> pd.DataFrame:
    """The study as one row per window (the plot table `metrics/plots/window.csv`)."""
    rows = []
    for row in study.get("windows", []):
        flat = {k: v for k, v in row.items() if not isinstance(v, dict)}
        flat.update({f"status_{k}": v for k, v in row.get("status", {}).items()})
        rows.append(flat)
    return pd.DataFrame(rows)
