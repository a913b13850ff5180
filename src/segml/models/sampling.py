"""Which labelled rows train and which validate: each model's training pool (at most so many
customers per cutoff, drawn per label class), read one cutoff at a time, and the customers each
backtest fold is measured on (the same in train and in the champion challenge)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from segml.config import ChurnConfig, UpsideConfig
from segml.data import schema as s
from segml.features.schedule import Schedule
from segml.features.transactions import to_date


def labels(target: str, frame: pd.DataFrame) -> np.ndarray:
    """What `target` ("churn" or "upside") learns: churned (0/1), or next-period spend (net refunds
    can push a window below zero; spend cannot be negative for Tweedie)."""
    if target == "churn":
        return frame[s.CHURNED].to_numpy(float)
    return np.clip(frame[s.FUTURE_VALUE].to_numpy(float), 0, None)


def sample_per_cutoff(
    frame: pd.DataFrame, max_rows: int | None, stratum: np.ndarray, seed: int
) -> pd.DataFrame:
    """At most `max_rows` customers per cutoff, drawn in proportion from each stratum (label class),
    so big data trains in bounded time on the same mix."""
    if not max_rows:
        return frame
    cutoff, _ = pd.factorize(frame[s.CUTOFF])
    if np.bincount(cutoff).max() <= max_rows:
        return frame
    u = np.random.default_rng(seed).random(len(frame))
    return frame[_drawn(cutoff, stratum, u, max_rows)].reset_index(drop=True)


def _drawn(cutoff: np.ndarray, stratum: np.ndarray, u: np.ndarray, max_rows: int) -> np.ndarray:
    """Which rows `sample_per_cutoff` keeps, given each row's cutoff code and random number."""
    counts = np.bincount(cutoff)
    strata, levels = pd.factorize(np.asarray(stratum))
    group = cutoff * len(levels) + strata
    # a random rank within (cutoff, stratum) as a share of the group; keep the share that fits
    order = np.lexsort((u, group))
    sizes = np.bincount(group)
    first = np.cumsum(sizes) - sizes
    rank = np.empty(len(u))
    rank[order] = np.arange(1, len(u) + 1) - first[group[order]]
    share = np.minimum(max_rows / counts, 1.0)[cutoff]
    return rank / sizes[group] <= share


def validation_rows(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """At most `max_rows` of one fold's customers to measure on: those whose id hashes lowest,
    so train and export's champion challenge pick the same customers whatever the row order.
    Rows keep their order."""
    if not max_rows or len(frame) <= max_rows:
        return frame
    key = pd.util.hash_pandas_object(frame[s.CUSTOMER_ID], index=False).to_numpy()
    return frame.take(np.sort(np.argpartition(key, max_rows - 1)[:max_rows])).reset_index(drop=True)


def read_training_rows(
    read: Callable[[pd.Timestamp], pd.DataFrame],
    schedule: Schedule,
    churn_cfg: ChurnConfig,
    upside_cfg: UpsideConfig,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """What `train_models` needs of the labelled rows, reading one cutoff at a time (`read`):
    (every row of the backtest folds' cutoffs, and of the others the rows in a training pool;
    each model's training pool). The pools are the rows `sample_per_cutoff` draws from the whole
    table: the same random numbers, drawn cutoff by cutoff, in the table's row order."""
    rng = np.random.default_rng(seed)
    limits = {"churn": churn_cfg.max_rows_per_cutoff, "upside": upside_cfg.max_rows_per_cutoff}
    kept, pools = [], {name: [] for name in limits}
    for day in schedule.labelled:
        frame = read(to_date(day))
        u = rng.random(len(frame))
        chosen = np.zeros(len(frame), dtype=bool)
        for name, max_rows in limits.items():
            keep = np.ones(len(frame), dtype=bool)
            if max_rows and len(frame):
                one_cutoff = np.zeros(len(frame), np.int64)
                keep = _drawn(one_cutoff, labels(name, frame) > 0, u, max_rows)
            pools[name].append(frame[keep])
            chosen |= keep
        kept.append(frame if day in schedule.folds else frame[chosen])
    return _stacked(kept), {name: _stacked(frames) for name, frames in pools.items()}


def _stacked(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Cutoffs' rows as one table; with no labelled cutoff (e.g. every purchase on one day), an
    empty table with the columns that say so (`train_models` then trains nothing)."""
    if frames:
        return pd.concat(frames, ignore_index=True)
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: pd.Series(dtype="str"),
            s.CUTOFF: pd.Series(dtype="datetime64[ns]"),
            s.CHURNED: pd.Series(dtype="int8"),
            s.FUTURE_VALUE: pd.Series(dtype="float64"),
        }
    )
