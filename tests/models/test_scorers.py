"""The scorers tier loads: a champion pickled before they moved out of `segml.models.training`
still loads, as the classes of `segml.models.scorers`, and scores the same; a set's churn window."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from segml.data import io
from segml.models import scorers
from segml.models.horizon import trained_horizon
from segml.models.scorers import ChurnModel, RuleScorer, UpsideModel


@pytest.fixture(scope="module")
def customers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    recency = rng.integers(0, 365, n).astype(float)
    return pd.DataFrame(
        {
            "customer_id": [f"{i:05d}" for i in range(n)],
            "cutoff": pd.Timestamp("2025-01-01"),
            "recency_days": recency,
            "spend_90d": rng.gamma(2.0, 50.0, n),
            "churned": (rng.random(n) < recency / 365).astype(np.int64),
            "future_value": rng.gamma(1.0, 40.0, n),
        }
    )


def pickled_at_the_old_path(obj) -> bytes:
    """`obj` pickled as before the split: its classes named in `segml.models.training`. Protocol 2
    names a class as "module\\nname\\n" (the GLOBAL opcode), so the module can be swapped in place."""
    data = pickle.dumps(obj, protocol=2)
    assert b"csegml.models.scorers\n" in data
    return data.replace(b"csegml.models.scorers\n", b"csegml.models.training\n")


def test_a_champion_pickled_before_the_move_loads_as_the_new_classes(customers, tmp_path):
    fast = dict(n_estimators=5, early_stopping_rounds=None, holdout_share=0.3)
    champion = {
        "churn": ChurnModel(calibration="platt", **fast).fit(customers),  # calibrator: _Platt
        "upside": UpsideModel(**fast).fit(customers),
        "rule": RuleScorer("recency_days", "baseline_recency").fit(
            customers, customers["churned"].to_numpy()
        ),
    }
    old = pickled_at_the_old_path(champion)
    assert b"segml.models.scorers" not in old and b"segml.models.training" in old
    path = tmp_path / "champion.pkl"
    path.write_bytes(old)

    loaded = io.load_pickle(path)
    assert type(loaded["churn"]) is ChurnModel and type(loaded["upside"]) is UpsideModel
    assert type(loaded["rule"]) is RuleScorer
    assert type(loaded["churn"].calibrator_) is scorers._Platt
    for name, model in champion.items():
        np.testing.assert_array_equal(
            scorers.score(loaded[name], customers), scorers.score(model, customers)
        )


def test_pickles_of_this_version_load_unchanged(customers, tmp_path):
    rule = RuleScorer("spend_90d", "baseline_last_period", calibrate=False).fit(customers)
    loaded = io.load_pickle(io.save_pickle(rule, tmp_path / "rule.pkl"))
    assert type(loaded) is RuleScorer
    np.testing.assert_array_equal(loaded.predict(customers), rule.predict(customers))


def test_a_set_of_scorers_has_one_churn_window():
    churn, upside = RuleScorer("recency_days", "r"), RuleScorer("spend_90d", "s", calibrate=False)
    assert trained_horizon(churn, upside) is None  # pickled before the window was kept
    churn.horizon_days_ = upside.horizon_days_ = 60
    assert trained_horizon(churn, upside) == 60
    upside.horizon_days_ = 90
    with pytest.raises(ValueError, match="different churn windows"):
        trained_horizon(churn, upside)
