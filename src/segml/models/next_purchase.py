"""When a customer is expected to buy next: the last purchase plus the customer's own mean gap
between purchase days (overdue: one mean gap from now); a customer who bought once: the typical
gap before a second purchase. A date is given only where the churn scorer expects a purchase
within the churn window (probability of no purchase below one half) and the date falls in it;
otherwise "none expected within H days".

Why the customer's gaps and not BG/NBD: once both are shown only where a purchase is expected,
they are equally accurate on the generated data (within a day), the gaps read as the reasons
already do ("usually every 19 days"), and they work with BG/NBD turned off (README).
"""

from __future__ import annotations

import numpy as np

OWN_GAPS = "own_gaps"
TYPICAL_GAP = "typical_repeat_gap"
NONE_EXPECTED = "none_expected"
EXPECTED_BELOW = 0.5  # churn probability under which a purchase in the window is expected


def typical_repeat_gap(frequency: np.ndarray, gap_mean_days: np.ndarray) -> float:
    """The median gap of customers with exactly two purchase days (their one gap is the gap
    before a second purchase); of all repeat buyers when none has two; NaN when nobody repeated."""
    frequency = np.asarray(frequency, dtype=float)
    gaps = np.asarray(gap_mean_days, dtype=float)
    for chosen in (frequency == 2, frequency >= 2):
        if chosen.any():
            return float(np.median(gaps[chosen]))
    return float("nan")


def typical_gap_of(frame) -> float:
    """`typical_repeat_gap` of a feature table's customers (NaN without the columns)."""
    if "frequency" not in frame or "gap_mean_days" not in frame:
        return float("nan")
    return typical_repeat_gap(frame["frequency"].to_numpy(), frame["gap_mean_days"].to_numpy())


def days_to_next(
    recency_days: np.ndarray, frequency: np.ndarray, gap_mean_days: np.ndarray, typical_gap: float
) -> tuple[np.ndarray, np.ndarray]:
    """(days from the cutoff to the expected next purchase, whole and at least 1; its basis)."""
    repeat = np.asarray(frequency, dtype=float) >= 2
    gap = np.where(repeat, np.asarray(gap_mean_days, dtype=float), typical_gap)
    due = gap - np.asarray(recency_days, dtype=float)
    days = np.where(due >= 1, due, gap)  # overdue: one gap from the cutoff
    days = np.maximum(np.rint(np.nan_to_num(days, nan=np.inf, posinf=np.inf)), 1)
    return days, np.where(repeat, OWN_GAPS, TYPICAL_GAP)


def expected_within(days: np.ndarray, churn_probability: np.ndarray, horizon_days: int):
    """Who is given a date: a purchase expected (churn probability below one half), in the window."""
    return (np.asarray(churn_probability, dtype=float) < EXPECTED_BELOW) & (days <= horizon_days)


def fold_next_purchase(
    customers,
    churn_probability: np.ndarray,
    churned: np.ndarray,
    horizon_days: int,
    typical: float,
) -> dict:
    """How the dates did in one backtest fold (`customers`: its recency, frequency, mean gap and,
    when built, the days to the real next purchase; `typical`: the training customers' typical
    gap before a second purchase): the share given a date; how often a date was followed by a
    purchase in the window, and "none expected" by none; and for buyers given a date, the mean
    and median days between the date and the real purchase."""
    days, _ = days_to_next(
        customers["recency_days"], customers["frequency"], customers["gap_mean_days"], typical
    )
    shown = expected_within(days, churn_probability, horizon_days)
    bought = np.asarray(churned, dtype=float) < 0.5
    out = {
        "date_share": float(shown.mean()) if len(shown) else float("nan"),
        "date_right": float(bought[shown].mean()) if shown.any() else float("nan"),
        "none_right": float((~bought[~shown]).mean()) if (~shown).any() else float("nan"),
    }
    if "next_purchase_days" in customers:
        actual = np.asarray(customers["next_purchase_days"], dtype=float)
        hit = shown & bought & np.isfinite(actual)
        if hit.any():
            error = np.abs(days[hit] - actual[hit])
            out["date_error_days"] = float(error.mean())
            out["date_error_median_days"] = float(np.median(error))
    return out
