"""The cutoff schedule (labelled cutoffs, walk-forward backtest folds, the snapshot), and whether the
data can support a model.

The labels themselves are built with the features (`segml.features.build.build_features`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from segml.config import LabelsConfig
from segml.data import schema as s
from segml.errors import InsufficientDataError


@dataclass(frozen=True)
class Schedule:
    """Day numbers of every cutoff the train stage uses.

    Training cutoffs come from a regular grid; each has a label window (c, c + H] that ends on or
    before as_of. Each backtest fold validates on one cutoff and trains only on grid cutoffs whose
    label windows end on or before it; the production models train on the most recent
    `max_training` grid cutoffs whose windows end by as_of.
    """

    grid: list[int]  # training candidates, oldest first
    folds: list[int]  # validation cutoffs of the backtest, oldest first
    snapshot: int  # as_of: scored, never labelled
    horizon_days: int
    max_training: int

    def training_for(self, day: int) -> list[int]:
        """The training cutoffs of a model validated (or scoring) at `day`: label windows end by `day`."""
        usable = [c for c in self.grid if c + self.horizon_days <= day]
        return usable[-self.max_training :] if self.max_training > 0 else usable

    @property
    def production(self) -> list[int]:
        return self.training_for(self.snapshot)

    @property
    def labelled(self) -> list[int]:
        """Labelled cutoffs some fit or fold needs: only these get feature rows."""
        days = set(self.folds) | set(self.production)
        for fold in self.folds:
            days |= set(self.training_for(fold))
        return sorted(days)


def cutoff_schedule(first_day: int, as_of_day: int, cfg: LabelsConfig) -> Schedule:
    """Training cutoffs every `cutoff_spacing_days` back from as_of - H, each with at least
    `min_history_days` of data before it; backtest folds every `fold_spacing_days` back from
    as_of - H. A fold without a training cutoff before it is dropped."""
    h = cfg.horizon_days
    newest = as_of_day - h
    earliest = first_day + cfg.min_history_days
    grid = sorted(
        newest - k * cfg.cutoff_spacing_days
        for k in range(max(0, (newest - earliest) // cfg.cutoff_spacing_days + 1))
    )
    folds = sorted(
        newest - k * cfg.fold_spacing_days
        for k in range(cfg.backtest_folds)
        if newest - k * cfg.fold_spacing_days >= earliest
    )
    schedule = Schedule(grid, folds, as_of_day, h, cfg.n_training_cutoffs)
    # keep only the part of the grid some fit uses
    used = set(schedule.labelled)
    grid = [c for c in grid if c in used]
    folds = [f for f in folds if schedule.training_for(f)]
    return Schedule(grid, folds, as_of_day, h, cfg.n_training_cutoffs)


def schedule_warnings(schedule: Schedule, cfg: LabelsConfig) -> list[str]:
    """What a user should know about a thin schedule (printed by the features stage, logged)."""
    notes = []
    if len(schedule.production) < 3:
        notes.append(
            f"only {len(schedule.production)} training cutoff(s) fit in the history: models learn "
            "from little; for short or cohort-shaped histories lower labels.min_history_days or "
            "labels.cutoff_spacing_days (e.g. 7 for weekly cutoffs)"
        )
    if len(schedule.folds) < cfg.backtest_folds:
        notes.append(
            f"only {len(schedule.folds)} of {cfg.backtest_folds} backtest folds have training data "
            "before them: lower labels.fold_spacing_days or labels.min_history_days"
        )
    return notes


def check_sufficiency(
    first_day: int,
    as_of_day: int,
    schedule: Schedule,
    valid_labels: pd.DataFrame,
    cfg: LabelsConfig,
) -> list[str]:
    """Problems that make the models untrustworthy, judged on the newest backtest fold; raises or
    warns per `sufficiency.on_failure`."""
    rules = {
        "min_customers": 200,
        "min_churners": 30,
        "min_history_multiple": 2.0,
        "on_failure": "stop",
        **cfg.sufficiency,
    }
    history = as_of_day - first_day
    problems = []
    if history < rules["min_history_multiple"] * cfg.horizon_days:
        problems.append(
            f"history is {history} days, shorter than {rules['min_history_multiple']} x the churn "
            f"window ({cfg.horizon_days} days): provide more history or lower labels.horizon_days"
        )
    if not schedule.folds:
        problems.append(
            "no backtest fold has a training cutoff before it: provide more history, or lower "
            "labels.horizon_days, labels.min_history_days or labels.cutoff_spacing_days"
        )
    n = len(valid_labels)
    if n < rules["min_customers"]:
        problems.append(
            f"only {n} customers at the validation cutoff (need {rules['min_customers']}; "
            "labels.sufficiency.min_customers)"
        )
    churners = int(valid_labels[s.CHURNED].sum()) if n else 0
    if min(churners, n - churners) < rules["min_churners"]:
        problems.append(
            f"only {min(churners, n - churners)} customers in the smaller churn class at the "
            f"validation cutoff (need {rules['min_churners']}): change labels.horizon_days"
        )
    if problems:
        message = "Data insufficient for training: " + "; ".join(problems) + "."
        if rules["on_failure"] == "stop":
            raise InsufficientDataError(
                message + " (Set labels.sufficiency.on_failure=warn to continue anyway.)"
            )
        warnings.warn(message, stacklevel=2)
    return problems
