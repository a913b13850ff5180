"""The tier stage per partition of customers (engine: dask), with the table of one pass.

Scores, reasons and names are per customer; grades are not (ABC and pyramid cut points, RFM
quantiles, who is explained, movement). So: each partition scores its customers; the scores come
back (four numbers per customer) and the whole population is graded here from them and a few
snapshot columns (`grading_columns`), as `score_customers` grades it; then each partition writes
its rows of the tier table, with its customers without a purchase, as one file of a partitioned
Parquet dataset. The partitions are ranges of customer ids, so the files read in order are the
one-process table, row for row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from segml.config import TieringConfig
from segml.data import io
from segml.data import schema as s
from segml.tiering.attribution import Guide, sample_positions
from segml.tiering.periods import Period
from segml.tiering.scoring import (
    TierResult,
    describe_customers,
    grade_customers,
    grading_columns,
    model_scores,
    non_buyers,
    reason_guide,
    reasons_estimated,
    sample_contributions,
    with_non_buyers,
)


@dataclass(frozen=True)
class Models:
    segmenter: Path
    churn: Path
    upside: Path

    def load(self):
        return tuple(io.load_pickle(p) for p in (self.segmenter, self.churn, self.upside))


@dataclass(frozen=True)
class TierTask:
    """One partition's share of the tier stage: the customers from `first` to `last` (ids, as
    the snapshot orders them); the second pass adds their grades and customers without a purchase."""

    k: int
    snapshot: Path
    first: str
    last: str
    models: Models
    cfg: TieringConfig
    horizon_days: int
    out: Path
    # the first pass: which of its rows are in the reasons' sample (positions in the partition)
    sample: np.ndarray | None = None
    estimated: bool = False
    grades: pd.DataFrame | None = None
    no_purchase: pd.DataFrame | None = None
    guide: Guide | None = None


def _rows(task: TierTask) -> pd.DataFrame:
    """The partition's snapshot rows: row groups outside its id range are not read."""
    bounds = [(s.CUSTOMER_ID, ">=", task.first), (s.CUSTOMER_ID, "<=", task.last)]
    return io.read_parquet(task.snapshot, filters=bounds)


@dataclass(frozen=True)
class PartScores:
    """A partition's first pass: its customers' `model_scores`, and its rows of the reasons'
    sample with their exact contributions (`sample_contributions`)."""

    scores: pd.DataFrame
    sample: pd.DataFrame
    contributions: dict


def part_scores(task: TierTask) -> PartScores:
    """The partition's customers with their `model_scores`, and its share of the reasons' sample."""
    _, churn, upside = task.models.load()
    rows = _rows(task)
    scores = model_scores(rows, churn, upside, task.cfg, task.horizon_days)
    sample = rows.iloc[task.sample if task.sample is not None else []]
    models = {"churn": churn, "value": upside}
    return PartScores(
        scores.assign(**{s.CUSTOMER_ID: rows[s.CUSTOMER_ID].to_numpy()}),
        sample,
        sample_contributions(sample, models, task.estimated),
    )


def part_table(task: TierTask) -> int:
    """The partition's rows of the tier table, written as its file; returns how many."""
    segmenter, churn, upside = task.models.load()
    rows = _rows(task)
    _check_same_customers(task.snapshot, rows, task.grades)
    table = describe_customers(
        rows,
        task.grades,
        segmenter,
        churn,
        upside,
        task.cfg,
        task.horizon_days,
        task.guide,
    )
    table = with_non_buyers(table, task.no_purchase, task.cfg)
    io.write_parquet(table, io.part_file(task.out, task.k))
    return len(table)


def _guide(firsts: list[PartScores], models: Models, cfg: TieringConfig, horizon: int) -> Guide:
    """The reasons' guide from the partitions' shares of the sample, as `score_customers` fits it."""
    sample = pd.concat([p.sample for p in firsts])
    contributions = {
        target: pd.concat([p.contributions[target] for p in firsts])
        for target in firsts[0].contributions
    }
    _, churn, upside = models.load()
    return reason_guide(sample, contributions, {"churn": churn, "value": upside}, cfg, horizon)


def _check_same_customers(snapshot: Path, got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Rows are matched by position: refuse if the snapshot changed between the two passes."""
    if not np.array_equal(got[s.CUSTOMER_ID].to_numpy(), expected[s.CUSTOMER_ID].to_numpy()):
        raise ValueError(
            f"{snapshot} changed while the tier stage ran (a partition read other customers than "
            "the stage expected): run the stage again"
        )


def _id_ranges(ids: np.ndarray, n: int) -> list[tuple[int, int]]:
    """`n` runs of about equal size over the ids (at least one customer each)."""
    edges = np.linspace(0, len(ids), min(n, len(ids)) + 1).round().astype(int)
    return list(zip(edges[:-1], edges[1:]))


def score_partitioned(
    parts,
    snapshot: Path,
    models: Models,
    cfg: TieringConfig,
    horizon_days: int,
    partitions: int,
    out: Path,
    previous: pd.DataFrame | None = None,
    previous_period: Period | None = None,
    no_purchase: pd.DataFrame | None = None,
) -> TierResult:
    """`score_customers` per partition on `parts` (`segml.stages.step.Partitions`: in process or
    on Dask); the tier table is written to the folder `out` (one file per partition). The
    result's table holds what the stage's metrics count: every customer's id, lifecycle status
    and RFM segment."""
    snap = io.read_parquet(snapshot, columns=grading_columns(cfg))
    ids = snap[s.CUSTOMER_ID].to_numpy(dtype=object)
    if not len(ids):
        raise ValueError(f"{snapshot}: no customers to tier; rerun features")
    if not (ids[:-1] < ids[1:]).all():
        raise ValueError(f"{snapshot}: customer ids are not unique and in order; rerun features")
    ranges = _id_ranges(ids, partitions)
    # the reasons' sample: the same evenly spaced customers as in one process
    positions = sample_positions(len(ids), cfg.reasons.get("sample_customers"))
    task = TierTask(0, snapshot, "", "", models, cfg, horizon_days, out)
    tasks = [
        replace(
            task,
            k=k,
            first=ids[start],
            last=ids[stop - 1],
            sample=positions[(positions >= start) & (positions < stop)] - start,
            estimated=reasons_estimated(len(ids), cfg),
        )
        for k, (start, stop) in enumerate(ranges)
    ]
    firsts = parts.map(part_scores, tasks)
    scores = pd.concat([p.scores for p in firsts], ignore_index=True)
    _check_same_customers(snapshot, scores, snap)
    grades = grade_customers(snap, scores, cfg, previous, previous_period)
    guide = _guide(firsts, models, cfg, horizon_days)

    extra = non_buyers(no_purchase)
    # customers without a purchase go to the partition whose id range holds their id, so each
    # file stays in id order and the files follow one another
    where = (
        np.searchsorted(
            np.array([t.first for t in tasks[1:]], dtype=object),
            extra[s.CUSTOMER_ID].astype(str).to_numpy(dtype=object),
            "right",
        )
        if extra is not None
        else None
    )
    tasks = [
        replace(
            t,
            grades=grades.table.iloc[start:stop],
            no_purchase=None if extra is None else extra[where == t.k],
            guide=guide,
        )
        for t, (start, stop) in zip(tasks, ranges)
    ]
    with io.folder_replacing(out) as work:
        parts.map(part_table, [replace(t, out=work) for t in tasks])
    counted = [
        s.CUSTOMER_ID,
        "lifecycle_status",
        *(["rfm_segment"] if cfg.rfm else []),
        "predicted_value",
        "expected_next_purchase_date",
    ]
    everyone = io.read_parquet(out, columns=counted)
    return TierResult(everyone, grades.movement, grades.summary)
