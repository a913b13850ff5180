"""DVC stage `features`: point-in-time features for every labelled cutoff (with labels) and the snapshot."""

from dataclasses import asdict
from pathlib import Path

from segml.data import io
from segml.config import load_config
from segml.app.console import console, run_stage
from segml.features.datasets import build_datasets
from segml.features.transactions import index_transactions


def main() -> None:
    cfg = load_config()
    prepared = Path(cfg.paths.prepared_dir)
    # the raw table is dropped once indexed: the index is all the stage needs, in far less memory
    idx = index_transactions(io.read_parquet(prepared / "transactions.parquet"),
                             io.read_parquet(prepared / "customers.parquet"))
    io.release_arrow_memory()
    datasets = build_datasets(idx, cfg.features, cfg.labels, cfg.as_of)
    out = Path(cfg.paths.features_dir)
    io.write_parquet(datasets.labelled, out / "labelled.parquet")
    io.write_parquet(datasets.snapshot, out / "snapshot.parquet")
    io.write_json(asdict(datasets.vocabulary), out / "vocabulary.json")
    io.write_json(datasets.summary, Path(cfg.paths.metrics_dir) / "features.json")
    report_schedule(datasets.summary)


def report_schedule(summary: dict) -> None:
    console.print(f"  backtest folds {', '.join(summary['backtest_folds'])}; production models learn from "
                  f"{len(summary['production_training_cutoffs'])} cutoffs "
                  f"({summary['production_training_cutoffs'][0]} … {summary['production_training_cutoffs'][-1]})")
    for note in summary["warnings"]:
        console.print(f"  [yellow]warning:[/yellow] {note}")


if __name__ == "__main__":
    run_stage("features", main)
