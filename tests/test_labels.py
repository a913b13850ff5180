"""Cutoff schedule (no overlap with validation) and the data sufficiency check."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from segml.labels import InsufficientDataError, check_sufficiency, cutoff_schedule


def test_training_windows_end_before_validation(cfg):
    labels = dataclasses.replace(cfg.labels, horizon_days=90, n_training_cutoffs=4, cutoff_spacing_days=30)
    cut = cutoff_schedule(first_day=0, as_of_day=1000, cfg=labels)
    assert cut.validation == 910 and cut.snapshot == 1000
    assert cut.training == [730, 760, 790, 820]
    assert all(c + 90 <= cut.validation for c in cut.training)


def test_cutoffs_without_enough_history_are_skipped(cfg):
    labels = dataclasses.replace(cfg.labels, horizon_days=90, n_training_cutoffs=10, cutoff_spacing_days=100)
    assert cutoff_schedule(0, 1000, labels).training == [120, 220, 320, 420, 520, 620, 720, 820]


def labels_frame(n: int, churners: int) -> pd.DataFrame:
    return pd.DataFrame({"churned": [1] * churners + [0] * (n - churners)})


def test_sufficiency_stops_with_advice(cfg):
    labels = dataclasses.replace(cfg.labels, sufficiency={"on_failure": "stop", "min_customers": 200,
                                                          "min_churners": 30, "min_history_multiple": 2.0})
    cut = cutoff_schedule(0, 150, labels)
    with pytest.raises(InsufficientDataError) as error:
        check_sufficiency(0, 150, cut, labels_frame(50, 2), labels)
    message = str(error.value)
    assert "history is 150 days" in message and "labels.horizon_days" in message
    assert "only 50 customers" in message and "on_failure=warn" in message


def test_sufficiency_can_warn_instead(cfg):
    labels = dataclasses.replace(cfg.labels, sufficiency={"on_failure": "warn", "min_customers": 200,
                                                          "min_churners": 30, "min_history_multiple": 2.0})
    with pytest.warns(UserWarning, match="only 50 customers"):
        problems = check_sufficiency(0, 1000, cutoff_schedule(0, 1000, labels), labels_frame(50, 25), labels)
    assert len(problems) == 2  # too few customers, too few churners
    assert check_sufficiency(0, 1000, cutoff_schedule(0, 1000, labels), labels_frame(500, 200), labels) == []
