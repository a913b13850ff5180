"""The schedule of training/validation cutoffs, and whether the data can support a model.

The labels themselves are built with the features (`segml.features.build_features`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from segml import schema as s
from segml.config import LabelsConfig


class InsufficientDataError(ValueError):
    """The data cannot support a trustworthy model; the message says what to change."""


@dataclass(frozen=True)
class Cutoffs:
    training: list[int]  # day numbers, oldest first
    validation: int
    snapshot: int  # as_of


def cutoff_schedule(first_day: int, as_of_day: int, cfg: LabelsConfig) -> Cutoffs:
    """Validation = as_of - H; training cutoffs step back from validation - H.

    Every training label window (c, c + H] ends on or before the validation cutoff, so no
    training row overlaps the validation period. Cutoffs with less than H days of history
    before them are skipped.
    """
    h = cfg.horizon_days
    validation = as_of_day - h
    training = [validation - h - k * cfg.cutoff_spacing_days for k in range(cfg.n_training_cutoffs)]
    training = sorted(c for c in training if c - first_day >= h)
    return Cutoffs(training, validation, as_of_day)


def check_sufficiency(first_day: int, as_of_day: int, cutoffs: Cutoffs, valid_labels: pd.DataFrame,
                      cfg: LabelsConfig) -> list[str]:
    """Problems that make the models untrustworthy; raises or warns per `sufficiency.on_failure`."""
    rules = {"min_customers": 200, "min_churners": 30, "min_history_multiple": 2.0, "on_failure": "stop",
             **cfg.sufficiency}
    history = as_of_day - first_day
    problems = []
    if history < rules["min_history_multiple"] * cfg.horizon_days:
        problems.append(f"history is {history} days, shorter than {rules['min_history_multiple']} x the churn "
                        f"window ({cfg.horizon_days} days): provide more history or lower labels.horizon_days")
    if not cutoffs.training:
        problems.append("no training cutoff fits before the validation cutoff: provide more history, lower "
                        "labels.horizon_days or labels.cutoff_spacing_days")
    n = len(valid_labels)
    if n < rules["min_customers"]:
        problems.append(f"only {n} customers at the validation cutoff (need {rules['min_customers']}; "
                        "labels.sufficiency.min_customers)")
    churners = int(valid_labels[s.CHURNED].sum()) if n else 0
    if min(churners, n - churners) < rules["min_churners"]:
        problems.append(f"only {min(churners, n - churners)} customers in the smaller churn class at the "
                        f"validation cutoff (need {rules['min_churners']}): change labels.horizon_days")
    if problems:
        message = "Data insufficient for training: " + "; ".join(problems) + "."
        if rules["on_failure"] == "stop":
            raise InsufficientDataError(message + " (Set labels.sufficiency.on_failure=warn to continue anyway.)")
        warnings.warn(message, stacklevel=2)
    return problems
