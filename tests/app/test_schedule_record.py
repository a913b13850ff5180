"""One source for the churn window and the cutoff schedule: the features stage's record. train,
tier and record read it (`segml.stages.schedule.schedule_of`) and stop, naming both values and
what to run, when it was made with other settings than the config has now; `segml score` takes
the window the registered models were trained for."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from segml.app import cli
from segml.data.catalog import Catalog
from segml.errors import ScheduleMismatchError
from segml.features.build import Vocabulary
from segml.features.datasets import schedule_summary
from segml.features.schedule import Schedule
from segml.features.transactions import to_day
from segml.reporting import run_history
from segml.stages import record, snapshot, tier, train
from segml.stages.schedule import schedule_of, scoring_record
from tests.conftest import rule_scorers, tx_frame

AS_OF = to_day("2025-06-30")
# folds at as_of - 90 and a month before, trained on the two grid cutoffs before each
SCHEDULE = Schedule(
    [AS_OF - 180, AS_OF - 150, AS_OF - 120], [AS_OF - 120, AS_OF - 90], AS_OF, 90, 8
)


def with_labels(cfg, **labels):
    return dataclasses.replace(cfg, labels=dataclasses.replace(cfg.labels, **labels))


def catalog_with(record: dict) -> Catalog:
    catalog = Catalog({"schedule": "metrics/features.json"}).in_memory()
    catalog.write("schedule", record)
    return catalog


@pytest.fixture(scope="module")
def cfg(cfg):
    """The project's config with the training cutoffs pinned (`labels.schedule: auto` leaves them
    to the features stage, and then the record's number is never a mismatch)."""
    return with_labels(cfg, n_training_cutoffs=8)


def test_the_schedule_is_the_records(cfg):
    assert cfg.labels.horizon_days == 90 and cfg.labels.n_training_cutoffs == 8
    fitted = with_labels(cfg, n_training_cutoffs=None)  # auto: whatever the stage fitted
    assert schedule_of(fitted, catalog_with(schedule_summary(SCHEDULE))) == SCHEDULE
    assert schedule_of(cfg, catalog_with(schedule_summary(SCHEDULE))) == SCHEDULE
    as_of = dataclasses.replace(cfg, as_of="2025-06-30 00:00")  # the same day, written otherwise
    assert schedule_of(as_of, catalog_with(schedule_summary(SCHEDULE))) == SCHEDULE


@pytest.mark.parametrize(
    "change, named",
    [
        (
            {"horizon_days": 60},
            "made with labels.horizon_days=90, the config says labels.horizon_days=60",
        ),
        (
            {"n_training_cutoffs": 12},
            "made with labels.n_training_cutoffs=8, the config says labels.n_training_cutoffs=12",
        ),
    ],
)
def test_a_record_made_with_other_labels_stops_with_both_values(cfg, change, named):
    with pytest.raises(ScheduleMismatchError) as error:
        schedule_of(with_labels(cfg, **change), catalog_with(schedule_summary(SCHEDULE)))
    message = str(error.value)
    assert named in message and "metrics/features.json" in message
    assert "`dvc repro`" in message and "`segml run`" in message
    key, value = next(iter(change.items()))
    assert f"or set labels.{key}={getattr(cfg.labels, key)} back" in message


def test_an_as_of_past_the_exports_end_graded_at_its_end_is_no_mismatch(cfg):
    """`data.as_of_past_end: export_end` grades as of the last purchase: the record's earlier
    day is what was asked for."""
    later = dataclasses.replace(
        cfg, as_of="2025-08-31", data=dataclasses.replace(cfg.data, as_of_past_end="export_end")
    )
    assert schedule_of(later, catalog_with(schedule_summary(SCHEDULE))) == SCHEDULE


def test_a_record_of_another_day_stops(cfg):
    later = dataclasses.replace(cfg, as_of="2025-07-31")
    with pytest.raises(
        ScheduleMismatchError, match="made with as_of=2025-06-30, the config says as_of=2025-07-31"
    ):
        schedule_of(later, catalog_with(schedule_summary(SCHEDULE)))


def test_segml_scores_record_trains_nothing_so_only_its_window_is_checked(cfg):
    record_ = scoring_record(AS_OF, 90)
    assert (
        schedule_of(with_labels(cfg, n_training_cutoffs=12), catalog_with(record_)).horizon_days
        == 90
    )
    with pytest.raises(ScheduleMismatchError, match="labels.horizon_days=45"):
        schedule_of(with_labels(cfg, horizon_days=45), catalog_with(record_))


def stale(cfg) -> tuple:
    """A config asking for a 60-day window, and a catalog whose record was made for 90."""
    return with_labels(cfg, horizon_days=60), catalog_with(schedule_summary(SCHEDULE))


def test_train_tier_and_record_stop_on_a_stale_record_first(cfg, monkeypatch):
    """Before anything else is read (the catalog holds only the record: any other read would
    fail otherwise) or logged."""
    monkeypatch.setattr(run_history, "load_model_set", lambda *a: None)
    for stage in (train, tier, record):
        config, catalog = stale(cfg)
        with pytest.raises(ScheduleMismatchError, match="labels.horizon_days=60"):
            stage.run(config, catalog, engine=None)


@pytest.fixture(scope="module")
def scoring_catalog(cfg):
    """What `segml score` holds before its snapshot stage: clean transactions and a registered
    set (rules as scorers) trained for a 45-day window."""
    days = pd.date_range(end="2025-06-30", periods=60, freq="9D")
    tx = tx_frame([(f"C{i}", str(d.date()), 10 + i) for i in range(3) for d in days[i % 2 :: 2]])
    catalog = Catalog.from_config(cfg.paths).in_memory()
    catalog.write("prepared_transactions", tx)
    catalog.write("prepared_customers", None)
    catalog.write("vocabulary", dataclasses.asdict(Vocabulary()))
    snap = snapshot.build_snapshot(tx, None, cfg.features, Vocabulary(), None, 90)
    for name, scorer in zip(("churn_model", "upside_model"), rule_scorers(snap)):
        scorer = copy.copy(scorer)
        scorer.horizon_days_ = 45
        catalog.write(name, scorer)
    return catalog


def test_segml_score_builds_and_grades_with_the_registered_window(cfg, scoring_catalog):
    window = snapshot.registered_horizon(scoring_catalog)
    scored = cli._scoring_config(cfg, Path("new.csv"), None, None, window, "champion")
    assert scored.labels.horizon_days == 45 and cfg.labels.horizon_days == 90
    snapshot.run(cfg, scoring_catalog, engine=None)
    assert "spend_45d" in scoring_catalog.read("snapshot")  # the window beside windows_days
    assert schedule_of(scored, scoring_catalog).horizon_days == 45
    assert scoring_catalog.read("schedule")["as_of"] == "2025-06-30"
    with pytest.raises(ScheduleMismatchError, match="labels.horizon_days=90"):
        schedule_of(cfg, scoring_catalog)  # a caller that did not take the set's window
