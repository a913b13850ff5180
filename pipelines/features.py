"""DVC stage `features`: point-in-time features for every labelled cutoff (with labels) and the snapshot."""

from dataclasses import asdict

from segml.app.console import report_schedule, run_stage
from segml.config import load_config
from segml.data import io
from segml.data.catalog import Catalog
from segml.features.datasets import build_datasets
from segml.features.transactions import index_transactions


def main() -> None:
    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    # the raw table is dropped once indexed: the index is all the stage needs, in far less memory
    idx = index_transactions(
        catalog.read("prepared_transactions"), catalog.read("prepared_customers")
    )
    io.release_arrow_memory()
    datasets = build_datasets(idx, cfg.features, cfg.labels, cfg.as_of)
    catalog.write("labelled", datasets.labelled)
    catalog.write("snapshot", datasets.snapshot)
    catalog.write("vocabulary", asdict(datasets.vocabulary))
    catalog.write("schedule", datasets.summary)
    report_schedule(datasets.summary)


if __name__ == "__main__":
    run_stage("features", main)
