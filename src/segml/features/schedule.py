"""The cutoff schedule (labelled cutoffs, walk-forward backtest folds, the snapshot), and whether the
data can support a model.

The labels themselves are built with the features (`segml.features.build.build_features`).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

import numpy as np
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
    # the day by which ACQUIRED_SHARE of the customers had bought (`history_start`); None: unknown
    history_start: int | None = None

    @property
    def history_days(self) -> int | None:
        """Days of history before as_of, from `history_start`."""
        return None if self.history_start is None else self.snapshot - self.history_start

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


# The monthly schedule: `labels.schedule: fixed` fills unset keys with it, and `auto` tries it first.
FIXED = {
    "cutoff_spacing_days": 30,
    "fold_spacing_days": 30,
    "min_history_days": 60,
    "n_training_cutoffs": 8,
}
SCHEDULE_KEYS = tuple(FIXED)


@dataclass(frozen=True)
class Rung:
    """One schedule `auto` may choose."""

    name: str
    name_zh: str
    cutoff_spacing_days: int
    fold_spacing_days: int
    min_history_days: int
    n_training_cutoffs: int

    @property
    def values(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in SCHEDULE_KEYS}


# Coarsest first: years of steady history keep the monthly schedule (finer cutoffs measured no
# better there, and cost more rows per fit); short or cohort-shaped exports step down until three
# folds with enough training cutoffs fit (README, "Model quality").
LADDER = (
    Rung("monthly", "按月", **FIXED),
    Rung("monthly, folds every 14 days", "按月，回测折每14天", 30, 14, 60, 8),
    Rung("fortnightly", "每两周", 14, 14, 30, 8),
    Rung("weekly", "按周", 7, 14, 30, 12),
    Rung("weekly, folds every 7 days", "按周，回测折每7天", 7, 7, 14, 12),
)
MIN_FOLD_TRAINING = 3  # training cutoffs each backtest fold needs
MIN_PRODUCTION = 3  # training cutoffs the production refit needs
# History starts when this share of the customers had bought: a few stray early rows (a legacy
# import, a test order) do not make a short export look long.
ACQUIRED_SHARE = 0.05


def with_fixed_values(cfg: LabelsConfig) -> LabelsConfig:
    """`cfg` with every unset schedule key at its monthly value."""
    return dataclasses.replace(
        cfg, **{k: FIXED[k] for k in SCHEDULE_KEYS if getattr(cfg, k) is None}
    )


def first_purchase_counts(first_purchase_day: np.ndarray) -> dict[int, int]:
    """Customers per first purchase day (customers who never bought are left out); partitions'
    counts add up to the population's."""
    days = np.asarray(first_purchase_day, dtype=float)
    days, counts = np.unique(days[np.isfinite(days)].astype(np.int64), return_counts=True)
    return dict(zip(days.tolist(), counts.tolist()))


def history_start(first_purchases: dict[int, int], as_of_day: int, horizon_days: int) -> int:
    """The day by which ACQUIRED_SHARE of the customers who had bought by as_of - H made their
    first purchase (`first_purchases`: customers per first purchase day)."""
    days = np.array(sorted(first_purchases), dtype=np.int64)
    if not len(days):
        return as_of_day
    counts = np.array([first_purchases[d] for d in days], dtype=np.int64)
    seen = days <= as_of_day - horizon_days
    if not seen.any():
        return int(days[0])
    days, cumulative = days[seen], np.cumsum(counts[seen])
    return int(days[np.searchsorted(cumulative, ACQUIRED_SHARE * cumulative[-1])])


def _fit(schedule: Schedule) -> dict:
    """What a rung gives: folds, training cutoffs per fold, production training cutoffs."""
    return {
        "folds": len(schedule.folds),
        "fold_training_cutoffs": [len(schedule.training_for(f)) for f in schedule.folds],
        "production_cutoffs": len(schedule.production),
    }


def choose_schedule(
    first_purchases: dict[int, int], as_of_day: int, cfg: LabelsConfig
) -> tuple[LabelsConfig, dict]:
    """The schedule keys to use, and a record of the choice (printed by the features stage, kept in
    its summary as `schedule_choice`).

    `auto`: the first rung of LADDER that gives `backtest_folds` folds, each with at least
    MIN_FOLD_TRAINING training cutoffs, and MIN_PRODUCTION production cutoffs, judged on the
    history from `history_start`; none: the rung with the most folds (then training cutoffs).
    Keys set in `cfg` always win: the rung fills only the unset ones. `fixed`: the monthly values.
    """
    start = history_start(first_purchases, as_of_day, cfg.horizon_days)
    history = as_of_day - start
    explicit = {k: getattr(cfg, k) for k in SCHEDULE_KEYS if getattr(cfg, k) is not None}
    record = {
        "mode": cfg.schedule,
        "history_start": start,
        "history_days": history,
        "explicit": sorted(explicit),
    }
    if cfg.schedule != "auto" or len(explicit) == len(SCHEDULE_KEYS):
        return _fixed_or_set_by_hand(cfg, start, as_of_day, record)
    tried = _climb_ladder(cfg, start, as_of_day, explicit)
    best = _best(tried)
    rung = next(r for r in LADDER if r.name == best["rung"])
    values = {k: best[k] for k in SCHEDULE_KEYS}
    why, why_zh = _why(best, cfg.backtest_folds, history)
    chosen = dataclasses.replace(cfg, **values)
    return chosen, {
        **record,
        "chosen": rung.name,
        "chosen_zh": rung.name_zh,
        "ok": best["ok"],
        "why": why,
        "why_zh": why_zh,
        "values": values,
        "tried": tried,
    }


def _fixed_or_set_by_hand(
    cfg: LabelsConfig, start: int, as_of_day: int, record: dict
) -> tuple[LabelsConfig, dict]:
    """Every schedule key set in labels (`auto`), or `fixed`: the keys not set take the monthly
    values; the record says so, with how well the schedule fits the history."""
    chosen = with_fixed_values(cfg)
    values = {k: getattr(chosen, k) for k in SCHEDULE_KEYS}
    fit = _fit(cutoff_schedule(start, as_of_day, chosen))
    by_hand = cfg.schedule == "auto"
    return chosen, {
        **record,
        "chosen": "set by hand" if by_hand else "monthly",
        "chosen_zh": "手动设定" if by_hand else "按月",
        "ok": _enough(fit, cfg),
        "why": "every schedule key is set in labels"
        if by_hand
        else "labels.schedule=fixed: keys not set take the monthly values",
        "why_zh": "排程参数均已在labels中设定"
        if by_hand
        else "labels.schedule=fixed：未设定的参数取按月的值",
        "values": values,
        "tried": [{"rung": "set by hand" if by_hand else "monthly", **values, **fit}],
    }


def _climb_ladder(cfg: LabelsConfig, start: int, as_of_day: int, explicit: dict) -> list[dict]:
    """The rungs of LADDER tried in order (the keys set in labels kept), each with its fit, up to
    the first that is enough."""
    tried = []
    for rung in LADDER:
        candidate = dataclasses.replace(cfg, **{**rung.values, **explicit})
        fit = _fit(cutoff_schedule(start, as_of_day, candidate))
        tried.append(
            {
                "rung": rung.name,
                **{k: getattr(candidate, k) for k in SCHEDULE_KEYS},
                **fit,
                "ok": _enough(fit, cfg),
            }
        )
        if tried[-1]["ok"]:
            break
    return tried


def _best(tried: list[dict]) -> dict:
    """The last rung tried when it is enough, else the one with the most folds (then training
    cutoffs, then production cutoffs)."""
    if tried[-1]["ok"]:
        return tried[-1]
    return max(
        tried,
        key=lambda t: (
            t["folds"],
            min(t["fold_training_cutoffs"], default=0),
            t["production_cutoffs"],
        ),
    )


def _why(best: dict, n: int, history: int) -> tuple[str, str]:
    """Why `best` was chosen, in English and Chinese (`n`: the backtest folds wanted)."""
    if best["ok"]:
        why = (
            f"the first schedule with {n} backtest folds of at least {MIN_FOLD_TRAINING} "
            f"training cutoffs each in {history} days of history"
        )
        why_zh = f"在{history}天的历史中，第一个能给出{n}个回测折且每折至少{MIN_FOLD_TRAINING}个训练时点的排程"
        return why, why_zh
    why = (
        f"no schedule gives {n} backtest folds of at least {MIN_FOLD_TRAINING} training "
        f"cutoffs each in {history} days of history; this one gives the most "
        f"({best['folds']} folds, {min(best['fold_training_cutoffs'], default=0)} or more "
        "training cutoffs each)"
    )
    why_zh = (
        f"{history}天的历史不足以给出{n}个每折至少{MIN_FOLD_TRAINING}个训练时点的回测折；"
        f"此排程给出最多（{best['folds']}个回测折）"
    )
    return why, why_zh


def _enough(fit: dict, cfg: LabelsConfig) -> bool:
    return (
        fit["folds"] >= cfg.backtest_folds
        and min(fit["fold_training_cutoffs"], default=0) >= MIN_FOLD_TRAINING
        and fit["production_cutoffs"] >= MIN_PRODUCTION
    )


def cutoff_schedule(first_day: int, as_of_day: int, cfg: LabelsConfig) -> Schedule:
    """Training cutoffs every `cutoff_spacing_days` back from as_of - H, each with at least
    `min_history_days` of data before it; backtest folds every `fold_spacing_days` back from
    as_of - H. A fold without a training cutoff before it is dropped. Unset keys take the monthly
    values (`choose_schedule` resolves `labels.schedule: auto` before this)."""
    cfg = with_fixed_values(cfg)
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
    """What a user should know about a thin schedule (printed by the features stage, logged).
    Under `labels.schedule: auto` the finest schedule was tried already: the note says what the
    history could not give instead of advising settings."""
    notes = []
    # keys `cfg` leaves unset were chosen by `auto`, which tried the finest schedule already
    auto = cfg.schedule == "auto"
    if len(schedule.production) < 3:
        notes.append(
            f"only {len(schedule.production)} training cutoff(s) fit in the history: models learn "
            + (
                "from little, even with weekly cutoffs (labels.schedule: auto tried them)"
                if auto and cfg.cutoff_spacing_days is None and cfg.min_history_days is None
                else "from little; for short or cohort-shaped histories lower "
                "labels.min_history_days or labels.cutoff_spacing_days (e.g. 7 for weekly cutoffs)"
            )
        )
    if len(schedule.folds) < cfg.backtest_folds:
        notes.append(
            f"only {len(schedule.folds)} of {cfg.backtest_folds} backtest folds have training data "
            + (
                "before them, even with folds every 7 days (labels.schedule: auto tried them): "
                "the grade has less to go by"
                if auto and cfg.fold_spacing_days is None and cfg.min_history_days is None
                else "before them: lower labels.fold_spacing_days or labels.min_history_days"
            )
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
