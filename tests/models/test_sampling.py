"""Which rows train: big cutoffs sampled per label class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segml.models.sampling import sample_per_cutoff


def test_big_cutoffs_are_sampled_per_label_class():
    frame = pd.DataFrame(
        {
            "cutoff": np.repeat(pd.to_datetime(["2025-01-01", "2025-02-01"]), [1000, 300]),
            "churned": np.r_[np.tile([1, 0, 0, 0], 250), np.zeros(300)],
        }
    )
    sample = sample_per_cutoff(frame, 400, frame["churned"].to_numpy() > 0, seed=0)
    counts = sample.groupby("cutoff").size()
    assert (
        counts.iloc[0] == pytest.approx(400, abs=2) and counts.iloc[1] == 300
    )  # small cutoffs whole
    assert sample[sample["cutoff"] == "2025-01-01"]["churned"].mean() == pytest.approx(
        0.25, abs=0.01
    )
