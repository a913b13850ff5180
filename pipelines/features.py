"""DVC stage `features`: point-in-time features for training cutoffs (with labels) and the snapshot."""

from dataclasses import asdict
from pathlib import Path

from segml import io
from segml.config import load_config
from segml.console import run_stage
from segml.datasets import build_datasets
from segml.transactions import index_transactions


def main() -> None:
    cfg = load_config()
    prepared = Path(cfg.paths.prepared_dir)
    # the raw table is dropped once indexed: the index is all the stage needs, in far less memory
    idx = index_transactions(io.read_parquet(prepared / "transactions.parquet"),
                             io.read_parquet(prepared / "customers.parquet"))
    io.release_arrow_memory()
    datasets = build_datasets(idx, cfg.features, cfg.labels, cfg.as_of)
    out = Path(cfg.paths.features_dir)
    io.write_parquet(datasets.train, out / "train.parquet")
    io.write_parquet(datasets.valid, out / "valid.parquet")
    io.write_parquet(datasets.snapshot, out / "snapshot.parquet")
    io.write_json(asdict(datasets.vocabulary), out / "vocabulary.json")
    io.write_json(datasets.summary, Path(cfg.paths.metrics_dir) / "features.json")


if __name__ == "__main__":
    run_stage("features", main)
