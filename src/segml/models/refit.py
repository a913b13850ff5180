"""The production scorer: the model refit on every labelled cutoff up to as_of with the rounds the
backtest found, the best baseline when the model does not win, or the blend of the two when it
beats both (or config says which)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.models import evaluation as ev
from segml.models.scorers import score
from segml.models.targets import Target


def chosen_scorer(target: Target, summary: dict) -> str:
    """ "model", "blend" or the best baseline's name, per `<target>.scorer` and the backtest."""
    choice, blend = target.cfg.scorer, summary.get("blend")
    can_blend = summary.get("best_baseline") is not None
    if can_blend and (
        choice == "blend"
        or (choice == "auto" and target.cfg.blend == "auto" and blend and blend["kept"])
    ):
        return "blend"
    if choice in ("model", "blend") or (choice == "auto" and summary["grade"] != "C"):
        return "model"
    return summary["best_baseline"]


def refit(
    target: Target,
    sample: pd.DataFrame,
    folds: dict,
    summary: dict,
    vocabulary,
    seed: int,
    population: Callable[[], pd.DataFrame] | None = None,
) -> tuple:
    """The scorer to score with, and what the metrics record of it. `sample`: the rows of every
    labelled cutoff in the target's training pool; `folds` and `summary`: its backtest;
    `population`: the customers production scores (read only when a churn blend ranks among
    them; without it, the training rows)."""
    scorer = chosen_scorer(target, summary)
    info = {
        "training_cutoffs": sorted(
            {str(d.date()) for d in pd.to_datetime(sample[s.CUTOFF].unique())}
        ),
        "train_rows": len(sample),
    }
    if scorer in ("model", "blend") and not folds:
        # nothing measured the rounds: early-stop on held-out customers
        producer = target.model(seed).fit(sample, vocabulary)
        info.update(n_estimators=producer.best_iteration_)
    elif scorer in ("model", "blend"):
        rounds = refit_rounds(folds, len(sample))
        producer = target.model(seed, n_estimators=rounds).fit(sample, vocabulary)
        info.update(
            n_estimators=rounds,
            **({"calibration": producer.calibration_used_} if target.name == "churn" else {}),
        )
    else:
        producer = target.rules(sample, vocabulary)[scorer]
    if scorer == "blend":
        rule = target.rules(sample, vocabulary)[summary["best_baseline"]]
        # the blend calibrates on customers the refit model did not learn from, when it has them
        held = producer.held_out(sample)
        producer = target.blend(producer, rule, sample[held if held.any() else slice(None)])
        if target.name == "churn":
            scored = population() if population is not None else sample
            producer.for_population(score(producer.model, scored), score(rule, scored))
        info.update(blend_of=["model", summary["best_baseline"]])
    producer.scorer_ = scorer
    info.update(ev.scorer_reason(target.name, scorer, target.cfg.scorer, summary))
    return producer, info


def refit_rounds(folds: dict, rows: int) -> int:
    """The folds' median early-stopped rounds, scaled to a refit on `rows` rows (at most doubled)."""
    fold_rounds = float(np.median([f["best_iteration"] for f in folds.values()]))
    fold_rows = float(np.mean([f["train_rows"] for f in folds.values()]))
    return max(1, int(round(fold_rounds * float(np.clip(rows / max(fold_rows, 1.0), 1.0, 2.0)))))
