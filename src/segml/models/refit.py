"""The production scorer: the model refit on every labelled cutoff up to as_of with the rounds the
backtest found, or the best baseline when the model does not win (or config says so)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.models import evaluation as ev
from segml.models.targets import Target


def refit(
    target: Target, sample: pd.DataFrame, folds: dict, summary: dict, vocabulary, seed: int
) -> tuple:
    """The scorer to score with, and what the metrics record of it. `sample`: the rows of every
    labelled cutoff in the target's training pool; `folds` and `summary`: its backtest."""
    choice = target.cfg.scorer
    use_model = choice == "model" or (choice == "auto" and summary["grade"] != "C")
    info = {
        "training_cutoffs": sorted(
            {str(d.date()) for d in pd.to_datetime(sample[s.CUTOFF].unique())}
        ),
        "train_rows": len(sample),
    }
    if use_model and not folds:  # nothing measured the rounds: early-stop on held-out customers
        producer = target.model(seed).fit(sample, vocabulary)
        info.update(n_estimators=producer.best_iteration_)
        scorer = "model"
    elif use_model:
        rounds = refit_rounds(folds, len(sample))
        producer = target.model(seed, n_estimators=rounds).fit(sample, vocabulary)
        info.update(
            n_estimators=rounds,
            **({"calibration": producer.calibration_used_} if target.name == "churn" else {}),
        )
        scorer = "model"
    else:
        scorer = summary["best_baseline"]
        producer = target.rules(sample, vocabulary)[scorer]
    producer.scorer_ = scorer
    info.update(ev.scorer_reason(target.name, scorer, choice, summary))
    return producer, info


def refit_rounds(folds: dict, rows: int) -> int:
    """The folds' median early-stopped rounds, scaled to a refit on `rows` rows (at most doubled)."""
    fold_rounds = float(np.median([f["best_iteration"] for f in folds.values()]))
    fold_rows = float(np.mean([f["train_rows"] for f in folds.values()]))
    return max(1, int(round(fold_rounds * float(np.clip(rows / max(fold_rows, 1.0), 1.0, 2.0)))))
