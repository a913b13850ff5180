"""DVC stage `features`: point-in-time features for every labelled cutoff (with labels) and the snapshot."""

from dataclasses import asdict
from pathlib import Path

from segml.app.console import report_schedule, run_stage
from segml.app.engine import dask_engine
from segml.app.params import load_config
from segml.config import Config
from segml.data import io
from segml.data.catalog import Catalog
from segml.data.schema import CUTOFF
from segml.features.datasets import build_datasets
from segml.features.partitioned import build_partitioned
from segml.features.transactions import index_transactions


def features_in_memory(cfg: Config, catalog: Catalog):
    # the raw table is dropped once indexed: the index is all the stage needs, in far less memory
    idx = index_transactions(
        catalog.read("prepared_transactions"), catalog.read("prepared_customers")
    )
    io.release_arrow_memory()
    datasets = build_datasets(idx, cfg.features, cfg.labels, cfg.as_of)
    # row groups per cutoff: train and export read some cutoffs' rows at a time
    catalog.write("labelled", datasets.labelled, row_groups_by=CUTOFF)
    catalog.write("snapshot", datasets.snapshot)
    return datasets


def features_on_dask(cfg: Config, catalog: Catalog):
    """Per partition of customers (the prepare stage's partition files)."""
    with dask_engine(cfg.dask) as engine:
        return build_partitioned(
            engine,
            catalog.path("prepared_transactions"),
            catalog.path("prepared_customers"),
            cfg.features,
            cfg.labels,
            cfg.as_of,
            catalog.path("labelled"),
            catalog.path("snapshot"),
            Path(cfg.paths.features_dir) / ".partitions",
        )


def main() -> None:
    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    datasets = (features_on_dask if cfg.engine == "dask" else features_in_memory)(cfg, catalog)
    catalog.write("vocabulary", asdict(datasets.vocabulary))
    catalog.write("schedule", datasets.summary)
    report_schedule(datasets.summary)


if __name__ == "__main__":
    run_stage("features", main)
