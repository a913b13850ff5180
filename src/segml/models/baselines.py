"""The baseline rules each model must beat: which feature each rule reads, and the best
"no purchase in the last N days" cut."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.data import schema as s

# Baselines the models must beat: name -> feature (calibrated to the label). BG/NBD is read two
# ways: its probability of no purchase in the window, and its expected purchases (fewer: more
# risk), which keeps ranking frequent buyers where the probability saturates near zero.
CHURN_BASELINES = {
    "baseline_recency": "recency_days",
    "baseline_bgnbd": "bgnbd_p_no_purchase",
    "baseline_bgnbd_expected": "bgnbd_expected_purchases",
}
# rules whose score falls as their feature rises
DECREASING = {"baseline_bgnbd_expected"}
# When the backtest cannot tell two readings apart (mean difference inside its spread), the second
# is kept: on cohort-shaped data the folds sit earlier in the customers' life than the snapshot,
# and the expected purchases ranked the real future better there (README, "Model quality").
PREFERRED_ON_A_TIE = {"baseline_bgnbd": "baseline_bgnbd_expected"}


def value_baselines(horizon_days: int) -> dict[str, str]:
    """Last period's spend, and BG/NBD expected purchases x Gamma-Gamma expected order value."""
    return {
        "baseline_last_period": f"spend_{horizon_days}d",
        "baseline_bgnbd": "bgnbd_expected_value",
    }


def best_recency_days(train: pd.DataFrame) -> float:
    """The single "no purchase in the last N days" rule that best separates churners (Youden's J)."""
    r, y = train["recency_days"].to_numpy(float), train[s.CHURNED].to_numpy(float)
    candidates = np.unique(np.quantile(r, np.linspace(0.02, 0.98, 49)))
    tpr = np.array([(r[y == 1] > n).mean() for n in candidates])
    fpr = np.array([(r[y == 0] > n).mean() for n in candidates])
    return float(candidates[int(np.argmax(tpr - fpr))])
