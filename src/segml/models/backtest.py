"""The walk-forward backtest: in each fold, the model and its baselines fitted on the cutoffs whose
label windows end before the fold and measured on the fold's customers; the grade from every fold,
the metrics' mean and spread, and the plot tables of the newest fold."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.features.schedule import Schedule
from segml.features.transactions import to_date
from segml.models import evaluation as ev
from segml.models.sampling import rows_at, validation_rows
from segml.models.scorers import score
from segml.models.targets import Target

EMPTY_PLOTS = {
    "calibration": ["bin", "customers", "mean_predicted", "observed_rate"],
    "lift": ["scorer", "share_contacted", "share_churners_caught"],
    "deciles": ["decile", "customers", "mean_predicted", "mean_actual"],
}
BACKTEST_COLUMNS = ["target", "fold_cutoff", "scorer", "metric", "value"]


@dataclass(frozen=True)
class Backtest:
    """One model's backtest."""

    name: str  # the target: churn or upside
    folds: dict  # "fold_1" (the oldest)...: cutoff, rows, rounds, each scorer's metrics
    summary: dict  # the grade (`evaluation.backtest_grade`)
    table: list[dict]  # one row per fold, scorer and metric (BACKTEST_COLUMNS)
    plots: dict[str, pd.DataFrame]  # plot tables of the newest fold measured (none: no fold)
    # per fold: its cutoff, customers and each scorer's scores (the champion challenge's input)
    scores: list[tuple[str, np.ndarray, dict[str, np.ndarray]]] = field(default_factory=list)

    def fold_scores(self, scorer: str) -> pd.DataFrame:
        """One scorer's score of every customer of every fold: target, cutoff, customer_id, score."""
        frames = [
            pd.DataFrame(
                {
                    "target": self.name,
                    s.CUTOFF: pd.Timestamp(cutoff),
                    s.CUSTOMER_ID: ids,
                    "score": scores[scorer],
                }
            )
            for cutoff, ids, scores in self.scores
            if scorer in scores
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fold_customers(labelled: pd.DataFrame) -> Callable[[int, int | None], pd.DataFrame]:
    """The rows each fold (a cutoff day) is measured on, at most `max_rows` of them; drawn once, as
    both models are measured on the same rows of each fold."""

    @functools.cache
    def fold_rows(fold: int, max_rows: int | None) -> pd.DataFrame:
        return validation_rows(rows_at(labelled, [fold]), max_rows)

    return fold_rows


def walk_forward(
    target: Target,
    schedule: Schedule,
    pool: pd.DataFrame,
    fold_rows: Callable[[int, int | None], pd.DataFrame],
    vocabulary,
    seed: int,
) -> Backtest:
    """Fit the model and its baselines on each fold's training cutoffs (rows of `pool`, the
    target's training pool), measure them on the fold's customers (`fold_rows`), and grade the
    model from every fold."""
    folds, table, newest, kept = {}, [], None, []
    for number, fold in enumerate(schedule.folds, 1):  # fold_1 is the oldest
        train = rows_at(pool, schedule.training_for(fold))
        valid = fold_rows(fold, target.cfg.max_validation_rows)
        if target.cannot_learn(train) or target.cannot_learn(valid):
            continue  # a fold without both outcomes measures nothing
        model = target.model(seed).fit(train, vocabulary)
        scores = {
            "model": score(model, valid),
            **{name: rule.predict(valid) for name, rule in target.rules(train, vocabulary).items()},
        }
        # keyed by position, so runs of other periods log the same metric names to MLflow
        key = f"fold_{number}"
        folds[key] = _fold_result(target, fold, len(train), valid, model, scores, seed)
        table += [
            dict(zip(BACKTEST_COLUMNS, (target.name, folds[key]["cutoff"], name, metric, value)))
            for name in scores
            for metric, value in folds[key][name].items()
        ]
        newest = (valid, scores)
        kept.append((folds[key]["cutoff"], valid[s.CUSTOMER_ID].to_numpy(), scores))
    plots = {} if newest is None else _plot_tables(target.name, target.labels(newest[0]), newest[1])
    return Backtest(target.name, folds, _grade(target, folds), table, plots, kept)


def _fold_result(
    target: Target,
    fold: int,
    train_rows: int,
    valid: pd.DataFrame,
    model,
    scores: dict[str, np.ndarray],
    seed: int,
) -> dict:
    """One fold: its cutoff, row counts and rounds, each scorer's metrics, and the standard error
    of the model's margin over each baseline."""
    y = target.labels(valid)
    return {
        "cutoff": str(to_date(fold).date()),
        "train_rows": train_rows,
        "valid_rows": len(valid),
        "best_iteration": model.best_iteration_,
        **{name: target.metrics(valid, values) for name, values in scores.items()},
        "margin_se": {
            name: ev.margin_standard_error(target.headline, y, scores["model"], values, seed)
            for name, values in scores.items()
            if name != "model"
        },
    }


def _grade(target: Target, folds: dict) -> dict:
    """The model's grade from its headline metric in every fold, beside each baseline's."""
    return ev.backtest_grade(
        target.name,
        target.headline,
        {
            name: [f[name][target.headline] for f in folds.values()]
            for name in ["model", *target.baselines]
            if all(name in f for f in folds.values())
        },
        target.cfg.grade_a_margin,
        {name: [f["margin_se"].get(name) for f in folds.values()] for name in target.baselines},
    )


def mean_and_spread(folds: dict) -> dict:
    """Per scorer, each metric's mean over the folds, and its fold-to-fold spread (standard deviation)."""
    scorers = (
        [
            k
            for k, v in next(iter(folds.values())).items()
            if isinstance(v, dict) and k != "margin_se"
        ]
        if folds
        else []
    )
    out, spread = {}, {}
    for name in scorers:
        table = pd.DataFrame([f[name] for f in folds.values()])
        out[name] = {k: float(v) for k, v in table.mean().items()}
        spread[name] = {k: float(v) for k, v in table.std(ddof=1).fillna(0.0).items()}
    if folds:
        out["model"]["best_iteration"] = float(
            np.median([f["best_iteration"] for f in folds.values()])
        )
    return {**out, "spread": spread}


def plot_tables(backtests: Iterable[Backtest]) -> dict[str, pd.DataFrame]:
    """Plot data for DVC and the report: the newest fold's tables of each model (empty tables when
    no fold measured anything), and every fold's metrics (`backtest`)."""
    backtests = list(backtests)
    plots = {}
    for backtest in backtests:
        plots.update(backtest.plots)
    for name, columns in EMPTY_PLOTS.items():
        plots.setdefault(name, pd.DataFrame(columns=columns))
    plots["backtest"] = pd.DataFrame(
        [row for backtest in backtests for row in backtest.table], columns=BACKTEST_COLUMNS
    )
    return plots


def _plot_tables(
    target: str, y: np.ndarray, scores: dict[str, np.ndarray]
) -> dict[str, pd.DataFrame]:
    """Plot data on the newest fold: calibration and lift for churn, deciles for value."""
    if target == "churn":
        return {
            "calibration": ev.calibration_table(y, scores["model"]),
            "lift": _lift_curve(y, scores),
        }
    return {"deciles": ev.decile_table(y, scores["model"])}


def _lift_curve(y: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cumulative share of churners caught vs share of customers contacted, per scorer."""
    rows = []
    for name, values in scores.items():
        order = np.argsort(-values, kind="stable")
        caught = np.cumsum(y[order]) / max(y.sum(), 1)
        for q in np.linspace(0.05, 1.0, 20):
            rows.append(
                {
                    "scorer": name,
                    "share_contacted": round(float(q), 2),
                    "share_churners_caught": float(caught[max(int(len(y) * q) - 1, 0)]),
                }
            )
    return pd.DataFrame(rows)
