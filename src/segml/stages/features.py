"""The features stage: point-in-time features for every labelled cutoff (with labels) and the
snapshot, the category vocabulary and the cutoff schedule."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.schema import CUTOFF
from segml.features.both import both_summary, build_both
from segml.features.build import Vocabulary
from segml.features.partitioned import build_partitioned
from segml.stages.kinds import KINDS, kind_of
from segml.stages.parts import BOTH, part_catalog
from segml.stages.step import Engine, Partitions, Step


def whole(cfg: Config, catalog: Catalog):
    kind = kind_of(cfg)  # data.kind: its prepared tables, features and labels
    datasets = kind.build_datasets(
        kind.index(catalog), cfg.features, cfg.labels, cfg.as_of, cfg.data
    )
    write_datasets(catalog, datasets)
    return datasets


def write_datasets(catalog: Catalog, datasets) -> None:
    # row groups per cutoff: train and export read some cutoffs' rows at a time
    catalog.write("labelled", datasets.labelled, row_groups_by=CUTOFF)
    catalog.write("snapshot", datasets.snapshot)


@dataclass(frozen=True)
class BothDatasets:
    """What the stage records of both parts: every level either part knows, both summaries."""

    vocabulary: Vocabulary
    summary: dict


def both(cfg: Config, catalog: Catalog) -> BothDatasets:
    """Both parts (`features.both`: subscribers with their purchases joined, the other buyers),
    each written to its part's entries with its own vocabulary and schedule record."""
    indexes = (KINDS[name].index(catalog) for name in ("transactions", "subscriptions"))
    parts = build_both(*indexes, cfg.features, cfg.labels, cfg.as_of, cfg.data)
    for name, datasets in parts.items():
        part = part_catalog(catalog, name)
        write_datasets(part, datasets)
        part.write("vocabulary", asdict(datasets.vocabulary))
        part.write_metrics("schedule", datasets.summary, headline(datasets.summary))
    buyers, subscribers = parts["transactions"].vocabulary, parts["subscriptions"].vocabulary
    vocabulary = replace(buyers, plans=subscribers.plans, usage_kinds=subscribers.usage_kinds)
    return BothDatasets(vocabulary, both_summary(parts))


def per_partition(parts: Partitions, cfg: Config, catalog: Catalog):
    """Per partition of customers (the prepare stage's partition files)."""
    labelled = catalog.path("labelled")
    return build_partitioned(
        parts,
        catalog.path("prepared_transactions"),
        catalog.path("prepared_customers"),
        cfg.features,
        cfg.labels,
        cfg.as_of,
        labelled,
        catalog.path("snapshot"),
        labelled.parent / ".partitions",  # scratch space inside the stage's output folder
        cfg.data,
    )


STEP = Step(whole, per_partition)


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    if cfg.data.kind == BOTH:  # two kinds' parts, built together (`features.both`)
        step = Step(both)
    else:
        step = STEP if kind_of(cfg).partitioned else Step(whole)  # no per-partition step: whole
    datasets = engine.run(step, cfg, catalog)
    catalog.write("vocabulary", asdict(datasets.vocabulary))
    catalog.write_metrics("schedule", datasets.summary, headline(datasets.summary))


def headline(summary: dict) -> dict:
    """The feature numbers DVC compares (README, "DVC metrics"): the labelled rows the models
    learn from, and their churn rate."""
    return {
        "features": {
            "labelled_rows": summary.get("labelled_rows"),
            "churn_rate": summary.get("churn_rate"),
        }
    }
