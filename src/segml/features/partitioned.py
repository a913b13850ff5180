"""The features stage per partition of customers (engine: dask), with the answers of one pass.

Features are per customer, except what is learnt from the whole population: the cutoff schedule
(first and last day), the vocabulary (the most common categories and channels) and each cutoff's
BG/NBD and Gamma-Gamma fits. Three passes over the partitions: their day span; their category
counts and fit inputs, from which the whole population's vocabulary and fits are made here; then
the features, with those. The partitions' tables are merged cutoff by cutoff, in customer-id
order: the same rows, in the same order, as `build_datasets` on all customers at once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig, FeaturesConfig, LabelsConfig
from segml.data import io
from segml.data import schema as s
from segml.data.io import part_file, part_files
from segml.features.build import (
    Cutoff,
    Vocabulary,
    build_features,
    level_counts,
    vocabulary_from,
    vocabulary_rows,
)
from segml.features.datasets import (
    LabelCounts,
    checked_summary,
    fitted_schedule,
    newest_fold,
    resolve_as_of,
    stage_cutoffs,
    vocabulary_day,
)
from segml.features.population import PopulationFit, fit_population, population_inputs
from segml.features.schedule import Schedule, first_purchase_counts
from segml.features.transactions import TransactionIndex, index_transactions, text_levels, to_date

ROW_GROUP_ROWS = 1 << 17


@dataclass(frozen=True)
class FeaturesTask:
    """One partition's share of the features stage (sent to a worker); later passes add what the
    earlier ones learnt."""

    k: int
    transactions: Path  # folders of partition files (the prepare stage's output)
    customers: Path
    features: FeaturesConfig
    labels: LabelsConfig
    out: Path
    cutoffs: tuple[Cutoff, ...] = ()
    until_day: int | None = None  # the vocabulary counts rows up to this day
    vocabulary: Vocabulary | None = None
    fits: dict[int, PopulationFit] | None = None


def _index(task: FeaturesTask) -> TransactionIndex | None:
    tx = io.read_parquet(part_file(task.transactions, task.k))
    if tx.empty:
        return None
    customers = io.read_parquet(part_file(task.customers, task.k))
    return index_transactions(tx, customers)


def part_span(task: FeaturesTask) -> tuple[int, int, dict[int, int]] | None:
    """First and last transaction day of the partition, and its customers per first purchase day
    (None: it has no transactions)."""
    idx = _index(task)
    if idx is None:
        return None
    return int(idx.day.min()), int(idx.day.max()), first_purchase_counts(idx.first_purchase_day)


@dataclass(frozen=True)
class PartPopulation:
    categories: Counter  # rows per category up to the vocabulary's day
    channels: Counter
    attributes: dict[str, list[str]]  # every level of each customer attribute
    inputs: dict[int, pd.DataFrame]  # cutoff day -> `population_inputs`


def part_population(task: FeaturesTask) -> PartPopulation:
    """What the whole population's vocabulary and fits need from one partition."""
    customers = io.read_parquet(part_file(task.customers, task.k))
    attributes = {  # plain category attributes only (typed ones stop the engine in prepare)
        column: text_levels(customers[column]).names
        for column in customers.columns
        if column != s.CUSTOMER_ID and task.features.use_attributes
    }
    idx = _index(task)
    if idx is None:
        return PartPopulation(Counter(), Counter(), attributes, {})
    early = vocabulary_rows(idx, task.until_day)
    days = [c.day for c in task.cutoffs] if task.features.use_bgnbd else []
    return PartPopulation(
        level_counts(idx.category, early),
        level_counts(idx.channel, early),
        attributes,
        population_inputs(idx, days),
    )


def part_features(task: FeaturesTask) -> int:
    """The partition's features, one file per cutoff (`_cutoff_folder`), so the merge reads only
    the cutoff it merges; returns the partition's rows."""
    idx = _index(task)
    if idx is None:
        return 0
    frame = build_features(
        idx,
        list(task.cutoffs),
        task.features,
        task.vocabulary,
        task.labels.horizon_days,
        with_labels=True,
        fits=task.fits,
    )
    # rows come in cutoff order
    days = frame[s.CUTOFF].to_numpy()
    for c in task.cutoffs:
        day = to_date(c.day).to_datetime64()
        start, stop = np.searchsorted(days, day, "left"), np.searchsorted(days, day, "right")
        folder = _cutoff_folder(task.out, c.day)
        io.write_parquet(frame.iloc[start:stop], part_file(folder, task.k))
    return len(frame)


def _cutoff_folder(work: Path, day: int) -> Path:
    return work / f"cutoff={to_date(day).date()}"


def _in_id_order(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(s.CUSTOMER_ID, kind="stable", ignore_index=True)


@dataclass(frozen=True)
class PartitionedDatasets:
    """`Datasets` without the tables (they are written to disk as they are merged)."""

    vocabulary: Vocabulary
    schedule: Schedule
    summary: dict


def build_partitioned(
    parts,
    transactions: Path,
    customers: Path,
    features_cfg: FeaturesConfig,
    labels_cfg: LabelsConfig,
    as_of: str | None,
    labelled_out: Path,
    snapshot_out: Path,
    work: Path,
    data: DataConfig | None = None,
) -> PartitionedDatasets:
    """`build_datasets` per partition on `parts` (`segml.stages.step.Partitions`: in process or
    on Dask); the labelled rows and the snapshot are written, merged in customer-id order, to
    `labelled_out` and `snapshot_out` (`data`: see `resolve_as_of`)."""
    n = len(part_files(transactions))
    with io.scratch_folder(work):
        task = FeaturesTask(0, transactions, customers, features_cfg, labels_cfg, work)
        tasks = [replace(task, k=k) for k in range(n)]
        spans = [span for span in parts.map(part_span, tasks) if span]
        first_day = min(first for first, _, _ in spans)
        as_of_day = resolve_as_of(max(last for _, last, _ in spans), as_of, data)
        first_purchases = Counter()
        for _, _, counts in spans:
            first_purchases.update(counts)
        schedule, choice = fitted_schedule(first_day, dict(first_purchases), as_of_day, labels_cfg)
        cutoffs = tuple(stage_cutoffs(schedule, labels_cfg))
        tasks = [replace(t, cutoffs=cutoffs, until_day=vocabulary_day(schedule)) for t in tasks]

        populations = parts.map(part_population, tasks)
        vocabulary = vocabulary_from(
            sum((p.categories for p in populations), Counter()),
            sum((p.channels for p in populations), Counter()),
            {
                column: sorted({level for p in populations for level in p.attributes[column]})
                for column in populations[0].attributes
            },
            features_cfg,
        )
        fits = None
        if features_cfg.use_bgnbd:
            with_rows = [p for p in populations if p.inputs]
            fits = {}
            for c in cutoffs:  # one cutoff's inputs of every customer in memory at a time
                inputs = _in_id_order([p.inputs.pop(c.day) for p in with_rows])
                fits.update(fit_population({c.day: inputs}))
        tasks = [replace(t, vocabulary=vocabulary, fits=fits) for t in tasks]
        parts.map(part_features, tasks)
        days = [c.day for c in cutoffs]
        # every cutoff's files have the same columns: the first cutoff's name them
        first = part_files(_cutoff_folder(work, days[0]))[0]
        labelled, churned, _ = _merge(work, days[:-1], labelled_out, first, drop=[])
        snapshot, _, repeat = _merge(work, days[-1:], snapshot_out, first, list(s.LABELS))
    fold = pd.Timestamp(to_date(newest_fold(schedule, labels_cfg)))
    valid = io.read_parquet(labelled_out, columns=[s.CHURNED], filters=[(s.CUTOFF, "==", fold)])
    counts = LabelCounts(labelled, churned, snapshot, repeat)
    schedule, summary = checked_summary(schedule, first_day, labels_cfg, valid, counts, choice)
    return PartitionedDatasets(vocabulary, schedule, summary)


def _merge(
    work: Path, days: list[int], path: Path, any_part: Path, drop: list[str]
) -> tuple[int, int, int]:
    """The partitions' rows of these cutoffs as one file, cutoff by cutoff (one in memory at a
    time), each in customer-id order; returns (rows, churned, customers who bought on more than
    one day). Arrow throughout: no copies into
    pandas and back. `any_part`: a partition file of any cutoff (they have the same columns)."""
    schema = io.read_parquet_schema(any_part)
    schema = pa.schema([f for f in schema if f.name not in drop])
    empty = schema.empty_table().to_pandas()  # pandas' own column notes, for `pd.read_parquet`
    schema = schema.with_metadata(pa.Schema.from_pandas(empty, preserve_index=False).metadata)
    text = [
        f.name for f in schema if not (pa.types.is_floating(f.type) or pa.types.is_integer(f.type))
    ]
    rows, churned, repeat = 0, 0, 0
    with io.parquet_writer(path, schema, use_dictionary=text) as writer:
        for day in days:
            parts = part_files(_cutoff_folder(work, day))
            table = pa.concat_tables([io.read_parquet_table(p) for p in parts])
            table = table.select(schema.names)
            table = table.take(pc.sort_indices(table, [(s.CUSTOMER_ID, "ascending")]))
            # row groups of ~130 k customers: the tier stage's partitions read only their own
            writer.write_table(table.replace_schema_metadata(schema.metadata), ROW_GROUP_ROWS)
            rows += len(table)
            if s.CHURNED in table.column_names:
                churned += int(pc.sum(table[s.CHURNED]).as_py() or 0)
            if "frequency" in table.column_names:
                repeat += int(pc.sum(pc.greater(table["frequency"], 1)).as_py() or 0)
    return rows, churned, repeat
