"""The churn window a set of scorers was trained for. Apart from the scorers themselves so that
reading it (the tier stage, `segml compose`, the run history) needs neither LightGBM nor sklearn."""

from __future__ import annotations


def trained_horizon(*scorers) -> int | None:
    """The churn window (days) the scorers were trained for: the train stage sets `horizon_days_`
    on both from the features stage's record, so a registered set carries its own. None when
    unknown (scorers pickled before segml kept it)."""
    windows = {getattr(scorer, "horizon_days_", None) for scorer in scorers}
    if len(windows) > 1:
        raise ValueError(f"scorers of one set trained for different churn windows: {windows}")
    return windows.pop() if windows else None
