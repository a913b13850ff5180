"""Totals that add up: how far the value forecast's total was from what customers spent, per
backtest fold and per potential level, and the factor that scales the production forecast.

A forecast learnt from label windows at least H days old misses a drift of the customer base
since then (season, a cohort's fading repeat rate) in its total, while ranking well. The factor
is realized / forecast total, pooled over the backtest folds; in the backtest, each fold is shown
raw and with the factor of the folds before it (walk-forward), so the calibrated error is
measured on folds the factor never saw.
"""

from __future__ import annotations

import numpy as np

FACTOR_BOUNDS = (0.5, 2.0)  # a factor beyond these says the forecast is broken, not off
# With less history than a year and two churn windows, no fold has seen the snapshot's season and
# a cohort's drift continues past the folds: the summary says the corrected total is less certain.
YEAR_DAYS = 365
TIERS = ("low", "mid", "high")  # potential levels: thirds of the forecast, as value x potential


def total_ratio(y: np.ndarray, forecast: np.ndarray) -> float:
    """Forecast total over realized total (1 = adds up; NaN when nobody spent)."""
    total = float(np.sum(y))
    return float(np.sum(forecast)) / total if total > 0 else float("nan")


def factor_of(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Realized over forecast total, pooled over (y, forecast) pairs, within FACTOR_BOUNDS."""
    realized = sum(float(np.sum(y)) for y, _ in pairs)
    forecast = sum(float(np.sum(f)) for _, f in pairs)
    if realized <= 0 or forecast <= 0:
        return 1.0
    return float(np.clip(realized / forecast, *FACTOR_BOUNDS))


def tier_of(forecast: np.ndarray) -> np.ndarray:
    """Each customer's potential level (0 low, 1 mid, 2 high): thirds of the forecast by rank,
    ties in the order given."""
    order = np.argsort(np.asarray(forecast, dtype=float), kind="stable")
    tier = np.empty(len(order), dtype=np.int64)
    tier[order] = np.arange(len(order)) * 3 // max(len(order), 1)
    return tier


def fold_totals(pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Per fold (oldest first; `pairs`: fold -> (y, forecast)): the raw ratio, the ratio with the
    factor of the earlier folds (none for the first), and both per potential level."""
    out, earlier = {}, []
    for key, (y, forecast) in pairs.items():
        factor = factor_of(earlier) if earlier else None
        tier = tier_of(forecast)
        row = {"total_ratio": total_ratio(y, forecast)}
        if factor is not None:
            row["total_ratio_calibrated"] = row["total_ratio"] * factor
        for level, name in enumerate(TIERS):
            part = tier == level
            row[f"total_ratio_{name}"] = total_ratio(y[part], forecast[part])
            if factor is not None:
                row[f"total_ratio_{name}_calibrated"] = row[f"total_ratio_{name}"] * factor
        out[key] = row
        earlier.append((y, forecast))
    return out


def calibration_applies(setting: str, folds: int) -> bool:
    """Whether the factor scales the production forecast (`upside.total_calibration`): `auto` when
    at least two folds measured it (so the backtest shows the correction on a fold it did not
    learn from), `on` with any fold, `off` never.

    On the generated data the factor brought the real future's total closer in 4 of 5 cases,
    including every cohort graded at nine months (+56 to +64 % raw, +10 to +19 % corrected); the
    exception is a twelve-month cohort, +5 % raw and -24 % corrected (README)."""
    if setting == "off":
        return False
    return folds >= (1 if setting == "on" else 2)


def short_history(history_days: int | None, horizon_days: int) -> bool:
    """Less history than a year and two churn windows (or unknown)."""
    return history_days is None or history_days < YEAR_DAYS + 2 * horizon_days
