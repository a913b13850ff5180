"""What the production scorers forecast beyond a ranking, measured in the backtest with the very
scorer production uses: the value forecast's totals (`totals`) and ranges (`ranges`), attached to
the production value scorer, and the churn scorer's next purchase dates (`next_purchase`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.config import UpsideConfig
from segml.features.schedule import Schedule
from segml.models.backtest import BACKTEST_COLUMNS, Backtest
from segml.models.next_purchase import fold_next_purchase, typical_gap_of
from segml.models.ranges import fit_ranges, fold_ranges
from segml.models.scorers import ScaledScorer
from segml.models.totals import calibration_applies, factor_of, fold_totals, short_history

TARGET = "forecast"  # the backtest table's rows of these measures
WITHIN = 0.10  # the total is "within target" when every fold's ratio is within 10 % of 1


def _pairs(backtest: Backtest, scorer: str, held: bool = False) -> dict:
    return {
        key: (o.held_y, o.held_scores[scorer]) if held else (o.y, o.scores[scorer])
        for key, o in backtest.outcomes.items()
        if scorer in (o.held_scores if held else o.scores)
    }


def _percent(ratio: float) -> float:
    return (ratio - 1) * 100


def ratio_range(ratios: list[float]) -> tuple[str, str]:
    """How far totals were off, in words: "4-9 % high", "3 % low to 5 % high" (en, zh)."""
    off = [_percent(r) for r in ratios if np.isfinite(r)]
    if not off:
        return "not measured", "未测量"
    low, high = min(off), max(off)
    if max(abs(low), abs(high)) < 0.5:
        return "within 1 %", "误差在1%以内"
    if low >= 0:
        span = f"{low:.0f}–{high:.0f} %" if round(low) != round(high) else f"{high:.0f} %"
        return f"{span} high", f"偏高{span.replace(' ', '')}"
    if high <= 0:
        span = f"{-high:.0f}–{-low:.0f} %" if round(low) != round(high) else f"{-low:.0f} %"
        return f"{span} low", f"偏低{span.replace(' ', '')}"
    return f"{-low:.0f} % low to {high:.0f} % high", f"偏低{-low:.0f}%至偏高{high:.0f}%"


def value_forecast(
    producer, scorer: str, backtest: Backtest, cfg: UpsideConfig, schedule: Schedule
) -> tuple[object, dict, list[dict]]:
    """The production value scorer with its total's factor (when it applies) and its ranges, the
    record for metrics (`forecast`) and the backtest table's rows."""
    pairs = _pairs(backtest, scorer)
    folds = fold_totals(pairs)
    factor = factor_of(list(pairs.values())) if pairs else 1.0
    applied = calibration_applies(cfg.total_calibration, len(pairs))
    record = {"scorer": scorer, "factor": factor, "applied": applied}
    if cfg.interval and pairs:
        held = _pairs(backtest, scorer, held=True)
        first = next(iter(pairs))
        first_calibration = held[first] if first in held and len(held[first][0]) else pairs[first]
        # each fold's ranges hold its forecast as production would show it: times the factor of
        # the folds before it (as the totals' walk-forward correction), when the factor applies
        shown = {
            key: factor_of(list(pairs.values())[:i]) if applied and i else 1.0
            for i, key in enumerate(pairs)
        }
        for key, row in fold_ranges(pairs, first_calibration, cfg.interval, shown).items():
            folds[key].update(row)
        ranges = fit_ranges(
            np.concatenate([f for _, f in pairs.values()]),
            np.concatenate([y for y, _ in pairs.values()]),
            cfg.interval,
            factor if applied else 1.0,
        )
        record.update(level=cfg.interval, upper_level=ranges.upper_level)
    else:
        ranges = None
    if applied:
        producer_scorer = producer.scorer_
        producer = ScaledScorer(producer, factor)
        producer.scorer_ = producer_scorer
    if ranges is not None:
        producer.ranges_ = ranges
    record.update(_total_words(folds, factor, applied, cfg, schedule))
    record["folds"] = folds
    record["cutoffs"] = {key: backtest.outcomes[key].cutoff for key in folds}
    return producer, record, _rows(backtest, scorer, folds)


def _total_words(
    folds: dict, factor: float, applied: bool, cfg: UpsideConfig, schedule: Schedule
) -> dict:
    """The total's error in words (summary, report), and whether it is within 10 % in every fold."""
    raw = [f["total_ratio"] for f in folds.values()]
    calibrated = [f.get("total_ratio_calibrated", f["total_ratio"]) for f in folds.values()]
    shown = calibrated if applied else raw
    within = bool(shown) and all(np.isfinite(r) and abs(r - 1) <= WITHIN for r in shown)
    raw_en, raw_zh = ratio_range(raw)
    cal_en, cal_zh = ratio_range(calibrated)
    if applied:
        en = (
            f"in the backtest the forecast total was {raw_en}; corrected by what the folds before "
            f"each had shown, {cal_en}; the forecast is multiplied by {factor:.2f}, learnt from "
            "every fold"
        )
        zh = f"回测中预测总额{raw_zh}；按此前各折校正后{cal_zh}；本期预测乘以由全部回测折学得的系数{factor:.2f}"
    elif cfg.total_calibration == "off":
        en = f"in the backtest the total was {raw_en} (not corrected: upside.total_calibration is off)"
        zh = f"回测中预测总额{raw_zh}（未校正：upside.total_calibration为off）"
    else:
        en = f"in the backtest the total was {raw_en}; one fold cannot check a correction"
        zh = f"回测中预测总额{raw_zh}；仅一个回测折，无法检验校正"
    if short_history(schedule.history_days, schedule.horizon_days):
        days = schedule.history_days
        en += (
            f"; with {days} days of history (less than a year and two churn windows) the "
            "snapshot's season or a cohort's drift may move the total further"
        )
        zh += f"；历史仅{days}天（不足一年加两个流失观察期），季节或客群变化可能使总额偏差更大"
    return {
        "within_10_percent": within,
        "total_error_en": en,
        "total_error_zh": zh,
    }


def _rows(backtest: Backtest, scorer: str, folds: dict) -> list[dict]:
    cutoffs = {key: o.cutoff for key, o in backtest.outcomes.items()}
    return [
        dict(zip(BACKTEST_COLUMNS, (TARGET, cutoffs[key], scorer, metric, value)))
        for key, row in folds.items()
        for metric, value in row.items()
    ]


def next_purchase_backtest(
    backtest: Backtest, scorer: str, horizon_days: int
) -> tuple[dict, list[dict]]:
    """How the next purchase dates did in each fold with the production churn scorer."""
    folds = {
        key: fold_next_purchase(o.customers, o.scores[scorer], o.y, horizon_days, o.typical_gap)
        for key, o in backtest.outcomes.items()
        if scorer in o.scores and {"recency_days", "frequency", "gap_mean_days"} <= set(o.customers)
    }
    cutoffs = {key: backtest.outcomes[key].cutoff for key in folds}
    return {"scorer": scorer, "folds": folds, "cutoffs": cutoffs}, _rows(backtest, scorer, folds)


def production_forecast(
    target: str,
    producer,
    backtest: Backtest,
    sample: pd.DataFrame,
    schedule: Schedule,
    upside_cfg: UpsideConfig,
) -> tuple[object, dict, list[dict]]:
    """The production scorer with what it forecasts beyond a ranking, the metrics' record of it
    (`forecast` for value, `next_purchase` for churn) and the backtest table's rows. `sample`:
    the production scorer's training rows."""
    if target == "upside":
        producer, forecast, rows = value_forecast(
            producer, producer.scorer_, backtest, upside_cfg, schedule
        )
        return producer, {"forecast": forecast}, rows
    record, rows = next_purchase_backtest(backtest, producer.scorer_, schedule.horizon_days)
    # the tier stage dates next purchases with the training customers' typical gap
    producer.typical_repeat_gap_ = typical_gap_of(sample)
    return producer, {"next_purchase": record}, rows
