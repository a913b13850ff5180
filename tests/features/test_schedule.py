"""Cutoff schedule (walk-forward folds, no overlap with validation, refit on the newest) and sufficiency."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from segml.errors import InsufficientDataError
from segml.features.schedule import (
    FIXED,
    check_sufficiency,
    choose_schedule,
    cutoff_schedule,
    history_start,
    schedule_warnings,
)


def schedule_cfg(cfg, **changes):
    base = dict(
        horizon_days=90,
        n_training_cutoffs=4,
        cutoff_spacing_days=30,
        min_history_days=90,
        backtest_folds=3,
        fold_spacing_days=30,
    )
    return dataclasses.replace(cfg.labels, **{**base, **changes})


def test_every_fold_trains_only_on_label_windows_that_end_before_it(cfg):
    cut = cutoff_schedule(first_day=0, as_of_day=1000, cfg=schedule_cfg(cfg))
    assert cut.folds == [850, 880, 910] and cut.snapshot == 1000
    assert cut.training_for(910) == [730, 760, 790, 820]
    assert cut.training_for(850) == [670, 700, 730, 760]
    for fold in cut.folds:
        assert all(c + 90 <= fold for c in cut.training_for(fold))


def test_production_learns_from_the_newest_labelled_cutoffs(cfg):
    """Validate, then refit: the scoring models see the labelled days right before as_of."""
    cut = cutoff_schedule(0, 1000, schedule_cfg(cfg))
    assert cut.production == [820, 850, 880, 910]  # the last label window (910, 1000] ends at as_of
    assert max(c + 90 for c in cut.production) == 1000
    # only cutoffs some fit uses get feature rows
    assert cut.labelled == [670, 700, 730, 760, 790, 820, 850, 880, 910]
    assert set(cut.grid) <= set(cut.labelled)


def test_cutoffs_without_enough_history_are_skipped(cfg):
    cut = cutoff_schedule(
        0,
        1000,
        schedule_cfg(cfg, n_training_cutoffs=10, cutoff_spacing_days=100, min_history_days=60),
    )
    assert cut.production == [110, 210, 310, 410, 510, 610, 710, 810, 910]


def test_short_history_gets_weekly_cutoffs_and_a_warning(cfg):
    """A nine-month cohort export: monthly spacing leaves few cutoffs, weekly spacing more."""
    monthly = schedule_cfg(cfg, min_history_days=60, n_training_cutoffs=12)
    cut = cutoff_schedule(0, 273, monthly)
    assert cut.folds == [153, 183] and cut.training_for(153) == [63]
    assert any("2 of 3 backtest folds" in w for w in schedule_warnings(cut, monthly))
    weekly = schedule_cfg(
        cfg, min_history_days=30, n_training_cutoffs=12, cutoff_spacing_days=7, fold_spacing_days=14
    )
    cut = cutoff_schedule(0, 273, weekly)
    assert cut.folds == [155, 169, 183] and len(cut.production) == 12
    assert schedule_warnings(cut, weekly) == []
    one = cutoff_schedule(0, 170, schedule_cfg(cfg, min_history_days=30))
    assert any("only 2 training cutoff" in w for w in schedule_warnings(one, schedule_cfg(cfg)))


def labels_frame(n: int, churners: int) -> pd.DataFrame:
    return pd.DataFrame({"churned": [1] * churners + [0] * (n - churners)})


def test_sufficiency_stops_with_advice(cfg):
    labels = dataclasses.replace(
        cfg.labels,
        sufficiency={
            "on_failure": "stop",
            "min_customers": 200,
            "min_churners": 30,
            "min_history_multiple": 2.0,
        },
    )
    cut = cutoff_schedule(0, 150, labels)
    with pytest.raises(InsufficientDataError) as error:
        check_sufficiency(0, 150, cut, labels_frame(50, 2), labels)
    message = str(error.value)
    assert "history is 150 days" in message and "labels.horizon_days" in message
    assert "only 50 customers" in message and "on_failure=untrained" in message


def test_sufficiency_can_warn_instead(cfg):
    labels = dataclasses.replace(
        cfg.labels,
        sufficiency={
            "on_failure": "warn",
            "min_customers": 200,
            "min_churners": 30,
            "min_history_multiple": 2.0,
        },
    )
    with pytest.warns(UserWarning, match="only 50 customers"):
        problems = check_sufficiency(
            0, 1000, cutoff_schedule(0, 1000, labels), labels_frame(50, 25), labels
        )
    assert len(problems) == 2  # too few customers, too few churners
    assert (
        check_sufficiency(0, 1000, cutoff_schedule(0, 1000, labels), labels_frame(500, 200), labels)
        == []
    )


# ---------------------------------------------------------------- labels.schedule: auto


def auto_cfg(cfg, **changes):
    unset = dict.fromkeys(
        ("cutoff_spacing_days", "fold_spacing_days", "min_history_days", "n_training_cutoffs")
    )
    return dataclasses.replace(
        cfg.labels,
        **{"schedule": "auto", "horizon_days": 90, "backtest_folds": 3, **unset, **changes},
    )


def test_auto_keeps_the_monthly_schedule_on_years_of_history(cfg):
    chosen, record = choose_schedule({0: 1000}, 1000, auto_cfg(cfg))
    assert record["chosen"] == "monthly" and record["ok"]
    assert (chosen.cutoff_spacing_days, chosen.fold_spacing_days) == (30, 30)
    assert record["tried"][0]["fold_training_cutoffs"] == [8, 8, 8]
    assert "3 backtest folds" in record["why"] and "1000 days of history" in record["why"]


def test_auto_steps_down_to_weekly_cutoffs_on_nine_months_of_a_cohort(cfg):
    """273 days: monthly gives one training cutoff before its folds; 14-day folds and fortnightly
    cutoffs two; weekly cutoffs with 14-day folds give 5, 7 and 9 (by hand: cutoffs 36, 43, ...,
    183 every 7 days; fold 155 trains on those ending by 155, i.e. up to 65)."""
    chosen, record = choose_schedule({0: 500}, 273, auto_cfg(cfg))
    assert [t["rung"] for t in record["tried"]] == [
        "monthly",
        "monthly, folds every 14 days",
        "fortnightly",
        "weekly",
    ]
    assert record["tried"][0]["fold_training_cutoffs"] == [1, 2]  # the fold at 123 has none
    assert record["tried"][-1]["fold_training_cutoffs"] == [5, 7, 9]
    assert (chosen.cutoff_spacing_days, chosen.fold_spacing_days, chosen.n_training_cutoffs) == (
        7,
        14,
        12,
    )
    schedule = cutoff_schedule(0, 273, chosen)
    assert schedule.folds == [155, 169, 183] and len(schedule.production) == 12


def test_explicit_keys_win_and_fixed_keeps_the_monthly_values(cfg):
    chosen, record = choose_schedule({0: 500}, 273, auto_cfg(cfg, cutoff_spacing_days=30))
    assert chosen.cutoff_spacing_days == 30 and record["explicit"] == ["cutoff_spacing_days"]
    assert all(t["cutoff_spacing_days"] == 30 for t in record["tried"])
    assert not record["ok"]  # nothing fits with monthly cutoffs: the most folds the history allows
    assert "no schedule gives 3 backtest folds" in record["why"]
    fixed, record = choose_schedule({0: 500}, 273, auto_cfg(cfg, schedule="fixed"))
    assert {k: getattr(fixed, k) for k in FIXED} == FIXED and record["chosen"] == "monthly"


def test_history_starts_when_five_percent_of_customers_had_bought(cfg):
    """A stray early customer does not make a short export look long; customers who first buy in
    the last churn window are not counted (they are not seen by as_of - H)."""
    counts = {0: 1, 300: 99, 950: 1000}
    assert history_start(counts, as_of_day=1000, horizon_days=90) == 300
    assert history_start({0: 5, 300: 95}, 1000, 90) == 0  # 5 % had bought on day 0
    assert history_start({}, 1000, 90) == 1000
