"""The cutoff schedule and churn window of a run, from one source: the features stage's record
(catalog entry `schedule`, metrics/features.json), checked against config.

train, tier and record read it here (`schedule_of`), never from `conf/labels`: the record is what
the features and labels were really built with. A record made with other settings than the
config has now means the stage would work on stale outputs, and stops with both values and what
to run. In `segml score` the record is the scoring run's own: the snapshot stage writes it with
the registered set's churn window (`scoring_record`), which `segml score` also sets in the
config it scores with.
"""

from __future__ import annotations

from segml.config import Config
from segml.data.catalog import Catalog
from segml.errors import ScheduleMismatchError
from segml.features.datasets import schedule_from_summary, schedule_summary
from segml.features.schedule import Schedule
from segml.features.transactions import to_day

RERUN = (
    "run the features stage again with this config (`dvc repro`, which reruns it first, or "
    "`segml run`)"
)


def schedule_of(cfg: Config, catalog: Catalog) -> Schedule:
    """The run's schedule (cutoffs, backtest folds, churn window) from the features stage's record;
    raises `ScheduleMismatchError` when the record disagrees with `cfg`."""
    record = catalog.read("schedule")
    check_record(record, cfg, catalog.source("schedule"))
    return schedule_from_summary(record)


def check_record(record: dict, cfg: Config, source: str) -> None:
    """Each setting the record holds against the config's: the churn window, the training cutoffs
    per fit (when config sets them and the record has labelled cutoffs) and as_of (when config
    sets it)."""
    wrong = []
    if record["horizon_days"] != cfg.labels.horizon_days:
        wrong.append(("labels.horizon_days", record["horizon_days"], cfg.labels.horizon_days))
    fixed = cfg.labels.n_training_cutoffs
    if record["training_grid"] and fixed is not None and record["max_training_cutoffs"] != fixed:
        wrong.append(("labels.n_training_cutoffs", record["max_training_cutoffs"], fixed))
    # an as_of past the export's end grades as of its last purchase (`data.as_of_past_end`)
    past_end = cfg.data.as_of_past_end == "export_end"
    made, asked = to_day(record["as_of"]), to_day(cfg.as_of) if cfg.as_of else None
    if asked is not None and made != asked and not (past_end and made < asked):
        wrong.append(("as_of", record["as_of"], cfg.as_of))
    if wrong:
        differences = "; ".join(
            f"it was made with {key}={made}, the config says {key}={now}"
            for key, made, now in wrong
        )
        settings = " ".join(f"{key}={made}" for key, made, _ in wrong)
        raise ScheduleMismatchError(
            f"The features stage's record ({source or 'schedule'}) does not match the config: "
            f"{differences}. Its features, labels and cutoffs are stale: {RERUN}; or set "
            f"{settings} back to what the features were built with."
        )


def scoring_record(as_of_day: int, horizon_days: int) -> dict:
    """`segml score`'s record: its scoring day and the registered set's churn window; no labelled
    cutoffs (nothing is trained)."""
    return schedule_summary(Schedule([], [], as_of_day, horizon_days, 0))
