"""The features stage: every labelled cutoff (with labels) and the snapshot, from clean transactions."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from segml.config import DataConfig, FeaturesConfig, LabelsConfig
from segml.data import schema as s
from segml.data.period import graded_as_of
from segml.errors import ShortHistoryError
from segml.features.build import Cutoff, Vocabulary, build_features, fit_vocabulary
from segml.features.schedule import (
    Schedule,
    act_on_problems,
    choose_schedule,
    cutoff_schedule,
    first_purchase_counts,
    not_trained,
    schedule_warnings,
    sufficiency_problems,
)
from segml.features.transactions import TransactionIndex, index_transactions, to_date, to_day


@dataclass(frozen=True)
class Datasets:
    labelled: pd.DataFrame  # every labelled cutoff stacked, oldest first, with labels
    snapshot: pd.DataFrame  # as_of, no labels: what gets scored
    vocabulary: Vocabulary
    schedule: Schedule
    summary: dict

    def at(self, days: list[int]) -> pd.DataFrame:
        """The labelled rows of these cutoff days."""
        return rows_at(self.labelled, days)


def rows_at(frame: pd.DataFrame, days: list[int]) -> pd.DataFrame:
    """The rows of these cutoffs (day numbers), in table order."""
    wanted = np.array([to_date(d).to_datetime64() for d in days], dtype="datetime64[s]")
    return frame[np.isin(frame[s.CUTOFF].to_numpy(), wanted)].reset_index(drop=True)


def resolve_as_of(last_day: int, as_of: str | None, data: DataConfig | None = None) -> int:
    """The scoring day: configured, else the last transaction day. Never today's date. With
    `data` (its `as_of_past_end: export_end`), an as_of far past the last purchase grades as of
    that purchase (`segml.data.period.graded_as_of`)."""
    as_of = graded_as_of(as_of, to_date(last_day), data)
    return to_day(as_of) if as_of else last_day


def build_snapshot(
    tx: pd.DataFrame,
    customers: pd.DataFrame | None,
    features_cfg: FeaturesConfig,
    vocab: Vocabulary,
    as_of: str | None,
    horizon_days: int,
    data: DataConfig | None = None,
) -> pd.DataFrame:
    """Features as of `as_of` only (no labels): what `segml score` needs for new data (`data`:
    see `resolve_as_of`)."""
    idx = index_transactions(tx, customers)
    return build_features(
        idx, [resolve_as_of(int(idx.day.max()), as_of, data)], features_cfg, vocab, horizon_days
    )


def check_history(
    tx: pd.DataFrame,
    as_of: str | None,
    cfg: FeaturesConfig,
    allow_short: bool = False,
    data: DataConfig | None = None,
) -> None:
    """Refuse to score from less history than the features look back: every customer would look
    new (e.g. a file holding only the latest month). `data`: see `resolve_as_of`."""
    as_of = graded_as_of(as_of, tx[s.TS].max(), data) if as_of else None
    first, last = to_day(tx[s.TS].min()), to_day(as_of) if as_of else to_day(tx[s.TS].max())
    needed = max(cfg.windows_days)
    if last - first < needed and not allow_short:
        raise ShortHistoryError(
            f"the input covers {last - first} days before as_of, but the features look back {needed} days "
            f"(features.windows_days): customers would look new and inactive. Score the full history (append "
            "the new month to the previous export), or pass --allow-short-history to score anyway."
        )


def _dates(days: list[int]) -> list[str]:
    return [str(to_date(d).date()) for d in days]


def schedule_summary(schedule: Schedule) -> dict:
    """The schedule as dates, for people and for the train stage."""
    return {
        "as_of": _dates([schedule.snapshot])[0],
        "horizon_days": schedule.horizon_days,
        "history_start": None
        if schedule.history_start is None
        else _dates([schedule.history_start])[0],
        "max_training_cutoffs": schedule.max_training,
        "training_grid": _dates(schedule.grid),
        "labelled_cutoffs": _dates(schedule.labelled),
        "backtest_folds": _dates(schedule.folds),
        "production_training_cutoffs": _dates(schedule.production),
        "fold_training_cutoffs": {
            _dates([f])[0]: _dates(schedule.training_for(f)) for f in schedule.folds
        },
        "not_trained": schedule.not_trained,
    }


def schedule_from_summary(summary: dict) -> Schedule:
    """Inverse of `schedule_summary` (the train stage reads the features stage's schedule)."""
    return Schedule(
        [to_day(d) for d in summary["training_grid"]],
        [to_day(d) for d in summary["backtest_folds"]],
        to_day(summary["as_of"]),
        summary["horizon_days"],
        summary["max_training_cutoffs"],
        summary.get("not_trained", {}),
        to_day(summary["history_start"]) if summary.get("history_start") else None,
    )


def fitted_schedule(
    first_day: int, first_purchases: dict[int, int], as_of_day: int, labels_cfg: LabelsConfig
) -> tuple[Schedule, dict]:
    """The schedule of the stage (`labels.schedule`: see `choose_schedule`) and the record of how
    it was chosen, with dates for people."""
    chosen, record = choose_schedule(first_purchases, as_of_day, labels_cfg)
    schedule = replace(
        cutoff_schedule(first_day, as_of_day, chosen), history_start=record["history_start"]
    )
    return schedule, {**record, "history_start": _dates([record["history_start"]])[0]}


def stage_cutoffs(schedule: Schedule, labels_cfg: LabelsConfig) -> list[Cutoff]:
    """The stage's cutoffs in order: every labelled one, then the snapshot. Labelled rows are
    customers active in the recent past (long-lost customers teach and prove nothing); the
    snapshot has everyone."""
    active = labels_cfg.active_within_days or None
    return [*[Cutoff(day, active) for day in schedule.labelled], Cutoff(schedule.snapshot)]


def active_rows(snapshot: pd.DataFrame, labels_cfg: LabelsConfig) -> pd.DataFrame:
    """The snapshot's customers the models learn about and are measured on: those who bought within
    `labels.active_within_days` (as every labelled cutoff's rows)."""
    days = labels_cfg.active_within_days
    if not days:
        return snapshot
    return snapshot[snapshot["recency_days"] <= days].reset_index(drop=True)


def vocabulary_day(schedule: Schedule) -> int:
    """Levels are learnt from data up to the earliest cutoff, so no cutoff sees later categories."""
    return min([*schedule.labelled, schedule.snapshot])


def build_datasets(
    idx: TransactionIndex,
    features_cfg: FeaturesConfig,
    labels_cfg: LabelsConfig,
    as_of: str | None,
    data: DataConfig | None = None,
) -> Datasets:
    """Every labelled cutoff of the schedule with labels, and the snapshot, from indexed
    transactions (`index_transactions`), in one pass (`data`: see `resolve_as_of`)."""
    as_of_day = resolve_as_of(int(idx.day.max()), as_of, data)
    first_day = int(idx.day.min())
    schedule, choice = fitted_schedule(
        first_day, first_purchase_counts(idx.first_purchase_day), as_of_day, labels_cfg
    )
    vocab = fit_vocabulary(idx, features_cfg, until_day=vocabulary_day(schedule))
    frame = build_features(
        idx,
        stage_cutoffs(schedule, labels_cfg),
        features_cfg,
        vocab,
        labels_cfg.horizon_days,
        with_labels=True,
    )
    # rows come in cutoff order: the labelled cutoffs, then the snapshot
    n_labelled = int(
        np.searchsorted(frame[s.CUTOFF].to_numpy(), to_date(as_of_day).to_datetime64())
    )
    labelled_rows = frame.iloc[:n_labelled]
    valid = labelled_rows[labelled_rows[s.CUTOFF] == to_date(newest_fold(schedule, labels_cfg))]
    # the snapshot's labels would need the future; its rows equal what `segml score` builds
    snapshot = frame.iloc[n_labelled:].drop(columns=list(s.LABELS)).reset_index(drop=True)
    counts = LabelCounts(
        len(labelled_rows),
        int(labelled_rows[s.CHURNED].sum()),
        len(snapshot),
        int((snapshot["frequency"] > 1).sum()) if "frequency" in snapshot else None,
    )
    schedule, summary = checked_summary(schedule, first_day, labels_cfg, valid, counts, choice)
    return Datasets(labelled_rows, snapshot, vocab, schedule, summary)


def newest_fold(schedule: Schedule, labels_cfg: LabelsConfig) -> int:
    """The cutoff whose labelled customers judge whether there is enough data."""
    return schedule.folds[-1] if schedule.folds else schedule.snapshot - labels_cfg.horizon_days


@dataclass(frozen=True)
class LabelCounts:
    labelled_rows: int
    churned: int
    snapshot_customers: int
    repeat_buyers: int | None = None  # snapshot customers who bought on more than one day


def checked_summary(
    schedule: Schedule,
    first_day: int,
    labels_cfg: LabelsConfig,
    valid: pd.DataFrame,
    counts: LabelCounts,
    choice: dict,
) -> tuple[Schedule, dict]:
    """Stop (or warn) when the data cannot train trustworthy models (judged on `valid`, the newest
    fold's labelled rows), or, by default, mark the models it rules out as not trained (in the
    schedule the train stage reads); and the stage's summary for people and the train stage
    (`choice`: how the schedule was chosen, `fitted_schedule`)."""
    problems = sufficiency_problems(
        first_day, schedule.snapshot, schedule, valid, labels_cfg, counts.repeat_buyers
    )
    act_on_problems(problems, labels_cfg)
    schedule = replace(schedule, not_trained=not_trained(problems, labels_cfg))
    notes = schedule_warnings(schedule, labels_cfg)
    if schedule.not_trained:
        notes.append(
            f"{' and '.join(sorted(schedule.not_trained))} model(s) not trained (graded by value "
            "and RFM, scored by the rules that need no labels): "
            + "; ".join(p.text for p in problems)
            + " (labels.sufficiency.on_failure: stop makes this stop)"
        )
    n = counts.labelled_rows
    return schedule, {
        **schedule_summary(schedule),
        "schedule_choice": choice,
        "warnings": notes,
        "labelled_rows": n,
        "snapshot_customers": counts.snapshot_customers,
        "churn_rate": counts.churned / n if n else None,
    }
