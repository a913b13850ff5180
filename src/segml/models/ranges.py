"""The range of next-period value per customer (`predicted_value_p10` / `_p90`): conformal bounds
from what backtest customers with similar forecasts really spent.

Customers are put in bins by deciles of the forecast (before any total factor), the top decile
split again at the 95th and 99th percentiles where each part keeps MIN_BIN calibration customers
(one range for the whole top decile gave the best customer the range of the 90th percentile);
each bin's bounds are quantiles of the realized spend of its calibration customers. A range
always holds the forecast shown beside it (the forecast times the total's factor): where the
bin's bounds miss it, the range is stretched to it, and the upper level is searched with the
stretched ranges, so the share held is measured on the ranges as shown. Most customers spend
nothing in a window, so where the lower quantile is 0 the range is [0, Q(h)] rather than a
central range that would hold far more than the asked share: one upper level h, searched so
that the calibration customers' share held is the asked one. A customer's range then depends on
its own forecast alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10
TOP_SPLITS = (0.95, 0.99)  # the top decile split further where each part keeps MIN_BIN customers
MIN_BIN = 50
LEVEL_STEP = 0.01


@dataclass(frozen=True)
class ValueRanges:
    """Bounds per bin of the forecast: `edges` between bins, `lower` and `upper` per bin."""

    level: float  # the share of customers a range should hold
    upper_level: float  # h: the upper quantile of bins whose lower bound is 0
    edges: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    factor: float = 1.0  # the total's factor: the forecast shown is the binned one times this

    def bins(self, forecast: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges, np.asarray(forecast, dtype=float))

    def bounds(
        self, forecast: np.ndarray, shown: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(p_low, p_high) per customer, from each one's forecast (before the total's factor),
        stretched to hold the forecast shown (default: times the factor): low <= shown <= high."""
        forecast = np.asarray(forecast, dtype=float)
        shown = forecast * self.factor if shown is None else np.asarray(shown, dtype=float)
        which = self.bins(forecast)
        return _held(self.lower[which], self.upper[which], shown)


def _held(low: np.ndarray, high: np.ndarray, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shown = np.clip(shown, 0, None)
    return np.minimum(low, shown), np.maximum(high, shown)


def _edges(forecast: np.ndarray) -> np.ndarray:
    inner = list(np.linspace(0, 1, BINS + 1)[1:-1])
    inner += [q for q in TOP_SPLITS if len(forecast) * (1 - q) >= MIN_BIN]
    return np.unique(np.quantile(forecast, inner)) if len(forecast) else np.zeros(0)


def _bounds(
    realized_by_bin: list[np.ndarray], level: float, upper_level: float
) -> tuple[np.ndarray, np.ndarray]:
    low_q, high_q = (1 - level) / 2, (1 + level) / 2
    lower, upper = [], []
    for y in realized_by_bin:
        low = float(np.quantile(y, low_q))
        if low <= 0:
            lower.append(0.0)
            upper.append(float(np.quantile(y, upper_level)))
        else:
            lower.append(low)
            upper.append(float(np.quantile(y, high_q)))
    return np.array(lower), np.array(upper)


def held_share(y: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """The share of customers whose realized value lies in their range (coverage)."""
    y = np.asarray(y, dtype=float)
    return float(np.mean((y >= low - 1e-9) & (y <= high + 1e-9))) if len(y) else float("nan")


def fit_ranges(
    forecast: np.ndarray, realized: np.ndarray, level: float, factor: float = 1.0
) -> ValueRanges:
    """Bounds from calibration customers' forecasts (before the total's factor) and realized
    values (spend, never below 0); `factor`: the total's factor the shown forecast carries."""
    forecast = np.asarray(forecast, dtype=float)
    realized = np.clip(np.asarray(realized, dtype=float), 0, None)
    edges = _edges(forecast)
    which = np.searchsorted(edges, forecast)
    pooled = realized if len(realized) else np.zeros(1)
    by_bin = [realized[which == b] if (which == b).any() else pooled for b in range(len(edges) + 1)]
    shown = forecast * factor
    best = None
    for h in np.arange(0.0, (1 + level) / 2 + 1e-9, LEVEL_STEP):
        lower, upper = _bounds(by_bin, level, float(h))
        gap = abs(held_share(realized, *_held(lower[which], upper[which], shown)) - level)
        if best is None or gap < best[0] - 1e-12:
            best = (gap, float(round(h, 2)), lower, upper)
    _, h, lower, upper = best
    return ValueRanges(float(level), h, edges, lower, upper, float(factor))


def floor_share(ranges: ValueRanges, forecast: np.ndarray, y: np.ndarray) -> float:
    """The least share any range from 0 would hold here: in a bin where more than `level` of the
    customers spend nothing, a range that includes 0 holds at least them."""
    y = np.asarray(y, dtype=float)
    which = ranges.bins(forecast)
    share_zero = np.bincount(which, weights=(y <= 0), minlength=len(ranges.lower)) / np.maximum(
        np.bincount(which, minlength=len(ranges.lower)), 1
    )
    return float(np.mean(np.maximum(share_zero[which], ranges.level))) if len(y) else float("nan")


def fold_ranges(
    folds: dict[str, tuple[np.ndarray, np.ndarray]],
    first_calibration: tuple[np.ndarray, np.ndarray],
    level: float,
    factors: dict[str, float] | None = None,
) -> dict[str, dict]:
    """Coverage per fold (oldest first; `folds`: fold -> (y, forecast)), walk-forward: each fold's
    ranges come from the folds before it, the first's from its own training cutoffs' held-out
    customers (`first_calibration`: (y, forecast)), stretched to the fold's forecast as it would
    be shown (`factors`: fold -> the total's factor from the folds before it; 1 when absent)."""
    out, earlier = {}, []
    factors = factors or {}
    for key, (y, forecast) in folds.items():
        cal_y, cal_f = (
            (np.concatenate([e[0] for e in earlier]), np.concatenate([e[1] for e in earlier]))
            if earlier
            else first_calibration
        )
        ranges = fit_ranges(cal_f, cal_y, level, factors.get(key, 1.0))
        low, high = ranges.bounds(forecast)
        out[key] = {
            "coverage": held_share(y, low, high),
            "coverage_floor": floor_share(ranges, forecast, y),
            "p10_zero_share": float(np.mean(low <= 0)) if len(low) else float("nan"),
        }
        earlier.append((y, forecast))
    return out


def range_bounds(scorer, forecast: np.ndarray, shown: np.ndarray | None = None) -> tuple:
    """(low, high) value range of each forecast (before any total factor) from the ranges a value
    scorer carries (`ranges_`, set by the train stage), holding the forecast shown (times the
    ranges' factor); NaN where it carries none (no range asked, or a model from before ranges)."""
    ranges = getattr(scorer, "ranges_", None)
    return ranges.bounds(forecast, shown) if ranges is not None else (np.nan, np.nan)
