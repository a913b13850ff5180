"""The cutoff schedule (labelled cutoffs, walk-forward backtest folds, the snapshot), and whether the
data can support a model.

The labels themselves are built with the features (`segml.features.build.build_features`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

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
    # models the data cannot support (`labels.sufficiency`): model -> why, {"en": ..., "zh": ...}
    not_trained: dict = field(default_factory=dict)

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


@dataclass(frozen=True)
class Problem:
    """Why the data cannot support a model: `text` for the console (with the setting that
    changes it), `en`/`zh` in plain words for the summary, report and workbook, and the models it
    rules out."""

    text: str
    en: str
    zh: str
    models: tuple[str, ...] = ("churn", "upside")


SUFFICIENCY_DEFAULTS = {
    "min_customers": 200,
    "min_churners": 30,
    "min_history_multiple": 2.0,
    "on_failure": "untrained",
}


def sufficiency_problems(
    first_day: int,
    as_of_day: int,
    schedule: Schedule,
    valid_labels: pd.DataFrame,
    cfg: LabelsConfig,
    repeat_buyers: int | None = None,
) -> list[Problem]:
    """What makes the models untrustworthy, judged on the newest backtest fold's labelled rows
    (`valid_labels`) and, when given, the number of customers who bought on more than one day."""
    rules = {**SUFFICIENCY_DEFAULTS, **cfg.sufficiency}
    h, multiple = cfg.horizon_days, rules["min_history_multiple"]
    history = as_of_day - first_day
    problems = []
    if repeat_buyers == 0:
        problems.append(
            Problem(
                "no repeat buyer: every customer bought on one day only, so there is no repeat "
                "buying to learn from (provide a longer history)",
                "no customer bought on more than one day, so there is no repeat buying to learn from",
                "没有客户在不止一天购买过，无法学习复购",
            )
        )
    if history < multiple * h:
        problems.append(
            Problem(
                f"history is {history} days, shorter than {multiple} x the churn "
                f"window ({h} days): provide more history or lower labels.horizon_days",
                f"the data covers {history} days, less than {multiple:g} churn windows of {h} days",
                f"数据只覆盖{history}天，不足{multiple:g}个{h}天的流失观察期",
            )
        )
    if not schedule.folds:
        problems.append(
            Problem(
                "no backtest fold has a training cutoff before it: provide more history, or lower "
                "labels.horizon_days, labels.min_history_days or labels.cutoff_spacing_days",
                "the history leaves no room to test a model on earlier periods",
                "历史数据太短，无法在较早的时期检验模型",
            )
        )
    n = len(valid_labels)
    if n < rules["min_customers"]:
        problems.append(
            Problem(
                f"only {n} customers at the validation cutoff (need {rules['min_customers']}; "
                "labels.sufficiency.min_customers)",
                f"only {n:,} customers to test a model on (at least {rules['min_customers']:,} "
                "needed)",
                f"可用于检验模型的客户只有{n:,}个（至少需要{rules['min_customers']:,}个）",
            )
        )
    churners = int(valid_labels[s.CHURNED].sum()) if n else 0
    fewer = min(churners, n - churners)
    if fewer < rules["min_churners"]:
        who_en, who_zh = (
            ("stopped buying", "停止购买")
            if churners <= n - churners
            else ("bought again", "再次购买")
        )
        problems.append(
            Problem(
                f"only {fewer} customers in the smaller churn class at the "
                f"validation cutoff (need {rules['min_churners']}): change labels.horizon_days",
                f"only {fewer:,} customers {who_en} in the {h} days after the test date (at least "
                f"{rules['min_churners']:,} needed)",
                f"检验日后{h}天内{who_zh}的客户只有{fewer:,}个（至少需要{rules['min_churners']:,}个）",
                ("churn",),
            )
        )
    return problems


def check_sufficiency(
    first_day: int,
    as_of_day: int,
    schedule: Schedule,
    valid_labels: pd.DataFrame,
    cfg: LabelsConfig,
    repeat_buyers: int | None = None,
) -> list[str]:
    """`sufficiency_problems` for the console, acted on (`act_on_problems`)."""
    problems = sufficiency_problems(
        first_day, as_of_day, schedule, valid_labels, cfg, repeat_buyers
    )
    act_on_problems(problems, cfg)
    return [p.text for p in problems]


def act_on_problems(problems: list[Problem], cfg: LabelsConfig) -> None:
    """Per `labels.sufficiency.on_failure`: `untrained` (default) does nothing here (the models
    the problems rule out are not trained: `not_trained`), `stop` raises, `warn` warns (the
    models train anyway)."""
    on_failure = {**SUFFICIENCY_DEFAULTS, **cfg.sufficiency}["on_failure"]
    if not problems or on_failure == "untrained":
        return
    message = "Data insufficient for training: " + "; ".join(p.text for p in problems) + "."
    if on_failure == "stop":
        raise InsufficientDataError(
            message + " (Set labels.sufficiency.on_failure=untrained to grade by value and RFM "
            "with the models marked not trained, or =warn to train them anyway.)"
        )
    warnings.warn(message, stacklevel=3)


def not_trained(problems: list[Problem], cfg: LabelsConfig) -> dict[str, dict[str, str]]:
    """Per model the problems rule out (with `on_failure: untrained`), why in plain words."""
    if {**SUFFICIENCY_DEFAULTS, **cfg.sufficiency}["on_failure"] != "untrained":
        return {}
    out = {}
    for model in ("churn", "upside"):
        mine = [p for p in problems if model in p.models]
        if mine:
            out[model] = {"en": "; ".join(p.en for p in mine), "zh": "；".join(p.zh for p in mine)}
    return out
