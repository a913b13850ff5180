"""The walk-forward backtest: in each fold, the model and its baselines fitted on the cutoffs whose
label windows end before the fold and measured on the fold's customers; the grade from every fold,
the metrics' mean and spread, and the plot tables of the newest fold."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.features.datasets import rows_at
from segml.features.schedule import Schedule
from segml.features.transactions import to_date
from segml.models import evaluation as ev
from segml.models.baselines import PREFERRED_ON_A_TIE
from segml.models.next_purchase import typical_gap_of
from segml.models.sampling import validation_rows
from segml.models.scorers import score
from segml.models.targets import Target

EMPTY_PLOTS = {
    "calibration": ["bin", "customers", "mean_predicted", "observed_rate"],
    "lift": ["scorer", "share_contacted", "share_churners_caught"],
    "deciles": ["decile", "customers", "mean_predicted", "mean_actual"],
}
BACKTEST_COLUMNS = ["target", "fold_cutoff", "scorer", "metric", "value"]


@dataclass(frozen=True)
class FoldOutcome:
    """What every candidate scorer said in one fold and what the customers did: kept for what is
    decided once every fold is measured (the blend, and the forecast's totals, ranges and next
    purchase dates of the scorer production picks)."""

    cutoff: str
    ids: np.ndarray  # the fold's customers
    y: np.ndarray  # the label on the fold's customers
    scores: dict[str, np.ndarray]  # candidate -> score on the fold's customers
    held_y: np.ndarray  # the label on the fold's training cutoffs' held-out customers
    held_scores: dict[str, np.ndarray]  # candidate -> score on those held-out customers
    customers: pd.DataFrame  # the fold's customers' NEXT_PURCHASE_COLUMNS (and label, if built)
    typical_gap: float  # the training customers' typical gap before a second purchase


# what the next-purchase rule reads of the fold's customers (`segml.models.next_purchase`)
NEXT_PURCHASE_COLUMNS = ["recency_days", "frequency", "gap_mean_days", "next_purchase_days"]


@dataclass(frozen=True)
class Backtest:
    """One model's backtest."""

    name: str  # the target: churn or upside
    folds: dict  # "fold_1" (the oldest)...: cutoff, rows, rounds, each scorer's metrics
    summary: dict  # the grade (`evaluation.backtest_grade`), and the blend's (`blend_judgement`)
    table: list[dict]  # one row per fold, scorer and metric (BACKTEST_COLUMNS)
    plots: dict[str, pd.DataFrame]  # plot tables of the newest fold measured (none: no fold)
    outcomes: dict[str, FoldOutcome]  # per fold, as `folds`

    def fold_scores(self, scorer: str) -> pd.DataFrame:
        """One scorer's score of every customer of every fold (the champion challenge's input):
        target, cutoff, customer_id, score."""
        frames = [
            pd.DataFrame(
                {
                    "target": self.name,
                    s.CUTOFF: pd.Timestamp(o.cutoff),
                    s.CUSTOMER_ID: o.ids,
                    "score": o.scores[scorer],
                }
            )
            for o in self.outcomes.values()
            if scorer in o.scores
        ]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def fold_customers(labelled: pd.DataFrame) -> Callable[[int, int | None], pd.DataFrame]:
    """The rows each fold (a cutoff day) is measured on, at most `max_rows` of them; drawn once, as
    both models are measured on the same rows of each fold."""

    @functools.cache
    def fold_rows(fold: int, max_rows: int | None) -> pd.DataFrame:
        return validation_rows(rows_at(labelled, [fold]), max_rows)

    return fold_rows


BLEND = "blend"


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
    model from every fold. The blend of the model and the best baseline is measured beside them
    (a blend with each baseline is made in each fold; the best baseline is known only after the
    last)."""
    folds, outcomes = {}, {}
    for number, fold in enumerate(schedule.folds, 1):  # fold_1 is the oldest
        train = rows_at(pool, schedule.training_for(fold))
        valid = fold_rows(fold, target.cfg.max_validation_rows)
        if target.cannot_learn(train) or target.cannot_learn(valid):
            continue  # a fold without both outcomes measures nothing
        model = target.model(seed).fit(train, vocabulary)
        rules = target.rules(train, vocabulary)
        held = train[model.held_out(train)].reset_index(drop=True)
        scores = {"model": score(model, valid), **{n: r.predict(valid) for n, r in rules.items()}}
        held_scores = {
            "model": score(model, held),
            **{n: r.predict(held) for n, r in rules.items()},
        }
        if target.blends and len(held):
            for name, rule in rules.items():
                blend = target.blend(model, rule, held)
                held_scores[f"{BLEND}:{name}"] = blend.combine(
                    held_scores["model"], held_scores[name]
                )
                # ranked among the fold's customers, as production ranks among the snapshot's
                blend.for_population(scores["model"], scores[name])
                scores[f"{BLEND}:{name}"] = blend.combine(scores["model"], scores[name])
        # keyed by position, so runs of other periods log the same metric names to MLflow
        key = f"fold_{number}"
        measured = {n: v for n, v in scores.items() if not n.startswith(f"{BLEND}:")}
        folds[key] = _fold_result(target, fold, len(train), valid, model, measured, seed)
        outcomes[key] = FoldOutcome(
            folds[key]["cutoff"],
            valid[s.CUSTOMER_ID].to_numpy(),
            target.labels(valid),
            scores,
            target.labels(held),
            held_scores,
            valid[[c for c in NEXT_PURCHASE_COLUMNS if c in valid]].reset_index(drop=True),
            typical_gap_of(train),
        )
    summary = _grade(target, folds)
    if target.blends and outcomes:
        _add_blend(target, folds, outcomes, summary, seed)
    table = [
        dict(zip(BACKTEST_COLUMNS, (target.name, f["cutoff"], name, metric, value)))
        for f in folds.values()
        for name, metrics in f.items()
        if isinstance(metrics, dict) and name != "margin_se"
        for metric, value in metrics.items()
    ]
    newest = outcomes[list(outcomes)[-1]] if outcomes else None
    plots = (
        {}
        if newest is None
        else _plot_tables(
            target.name,
            newest.y,
            {n: v for n, v in newest.scores.items() if not n.startswith(f"{BLEND}:")},
        )
    )
    return Backtest(target.name, folds, summary, table, plots, outcomes)


def _add_blend(
    target: Target, folds: dict, outcomes: dict[str, FoldOutcome], summary: dict, seed: int
) -> None:
    """The blend with the best baseline becomes the candidate `blend` in every fold (the others
    are dropped), measured like the other scorers; `summary["blend"]` says whether it is kept:
    its margin over the better of the model and the best baseline, fold by fold, against the
    spread (`evaluation.blend_judgement`)."""
    best, headline = summary["best_baseline"], target.headline
    margins, errors = [], []
    for key, outcome in outcomes.items():
        candidates = [n for n in outcome.scores if n.startswith(f"{BLEND}:")]
        chosen = f"{BLEND}:{best}"
        if chosen not in outcome.scores:
            continue
        for scores in (outcome.scores, outcome.held_scores):
            scores[BLEND] = scores[chosen]
            for name in candidates:
                scores.pop(name, None)
        blend = outcome.scores[BLEND]
        folds[key][BLEND] = target.metrics_of(outcome.y, blend)
        model_h, best_h = folds[key]["model"][headline], folds[key][best][headline]
        better = "model" if model_h >= best_h else best
        margins.append(folds[key][BLEND][headline] - max(model_h, best_h))
        errors.append(
            ev.margin_standard_error(headline, outcome.y, blend, outcome.scores[better], seed)
        )
        folds[key]["margin_se"][BLEND] = errors[-1]
    summary[BLEND] = ev.blend_judgement(target.name, headline, margins, errors, best)


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
            **{
                name: ev.margin_standard_error(target.headline, y, scores["model"], values, seed)
                for name, values in scores.items()
                if name != "model"
            },
            # the spread of two readings of one baseline (`evaluation.backtest_grade`'s tie rule)
            **{
                _pair(best, other): ev.margin_standard_error(
                    target.headline, y, scores[best], scores[other], seed
                )
                for best, other in PREFERRED_ON_A_TIE.items()
                if best in scores and other in scores
            },
        },
    }


def _pair(best: str, other: str) -> str:
    return f"{best}_over_{other}"


def _grade(target: Target, folds: dict) -> dict:
    """The model's grade from its headline metric in every fold, beside each baseline's."""
    pairs = {
        other: [f["margin_se"].get(_pair(best, other)) for f in folds.values()]
        for best, other in PREFERRED_ON_A_TIE.items()
    }
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
        PREFERRED_ON_A_TIE,
        pairs,
    )


def mean_and_spread(folds: dict) -> dict:
    """Per scorer, each metric's mean over the folds, and its fold-to-fold spread (standard deviation)."""
    scorers = (
        [
            k
            for k, v in next(iter(folds.values())).items()
            if isinstance(v, dict) and k != "margin_se" and all(k in f for f in folds.values())
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


def plot_tables(
    backtests: Iterable[Backtest], extra_rows: list[dict] | None = None
) -> dict[str, pd.DataFrame]:
    """Plot data for DVC and the report: the newest fold's tables of each model (empty tables when
    no fold measured anything), and every fold's metrics (`backtest`, with `extra_rows`: the
    forecast's measures)."""
    backtests = list(backtests)
    plots = {}
    for backtest in backtests:
        plots.update(backtest.plots)
    for name, columns in EMPTY_PLOTS.items():
        plots.setdefault(name, pd.DataFrame(columns=columns))
    plots["backtest"] = pd.DataFrame(
        [row for backtest in backtests for row in backtest.table] + list(extra_rows or []),
        columns=BACKTEST_COLUMNS,
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
