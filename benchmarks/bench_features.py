"""Benchmark the feature and train stages on ~10M transactions / 1M customers; prints rows/s and peak memory.

Usage: python benchmarks/bench_features.py [--customers 1000000] [--rate-scale 0.83]
Each measurement runs in a fresh process so its peak memory (max RSS) is its own. The input is
what the feature stage reads: the prepare stage's clean table, sorted by customer and time. The
floor is a bare pandas group-by computing only recency, frequency and monetary: at one cutoff
(against one cutoff of segml features, what `segml score` builds) and at each of the stage's
cutoffs (against the whole stage: labelled cutoffs and snapshot, labels, BG/NBD, Gamma-Gamma).
Use --folder to keep the generated data between runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_data(folder: Path, customers: int, rate_scale: float) -> None:
    from segml.data.generate import generate

    demo = generate(customers, seed=1, messy=False, rate_scale=rate_scale)
    tx = demo.transactions.astype(
        {
            "customer_id": "str",
            "order_id": "str",
            "category": "str",
            "channel": "str",
            "quantity": float,
        }
    )
    # the feature stage reads the prepare stage's output, which is sorted by customer and time
    tx = tx.sort_values(["customer_id", "ts", "order_id"], kind="stable", ignore_index=True)
    tx.to_parquet(folder / "tx.parquet", index=False)
    demo.customers.astype("str").to_parquet(folder / "customers.parquet", index=False)


def rfm_floor(tx, cutoff):
    """The bare minimum: recency, frequency and monetary per customer at one cutoff, in pandas."""
    seen = tx[tx["ts"] <= cutoff]
    rfm = seen.groupby("customer_id").agg(
        last=("ts", "max"), frequency=("ts", "size"), monetary=("amount", "sum")
    )
    rfm["recency_days"] = (cutoff - rfm["last"]).dt.days
    return rfm


def stage_cutoffs(tx) -> list:
    """The cutoffs the feature stage builds with the default config: labelled cutoffs and the snapshot."""
    import pandas as pd

    from segml.app.params import compose
    from segml.config import to_typed
    from segml.features.schedule import cutoff_schedule
    from segml.features.transactions import to_date, to_day

    cfg = to_typed(compose())
    schedule = cutoff_schedule(to_day(tx["ts"].min()), to_day(tx["ts"].max()), cfg.labels)
    days = [*schedule.labelled, schedule.snapshot]
    return [to_date(d) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1) for d in days]


def run_floor(folder: Path) -> dict:
    import pandas as pd

    tx = pd.read_parquet(folder / "tx.parquet", columns=["customer_id", "ts", "amount"])
    start = time.perf_counter()
    rfm = rfm_floor(tx, tx["ts"].max())
    return {"seconds": time.perf_counter() - start, "rows": len(tx), "customers": len(rfm)}


def run_floor_stage(folder: Path) -> dict:
    import pandas as pd

    tx = pd.read_parquet(folder / "tx.parquet", columns=["customer_id", "ts", "amount"])
    cutoffs = stage_cutoffs(tx)
    start = time.perf_counter()
    for cutoff in cutoffs:
        rfm_floor(tx, cutoff)
    return {"seconds": time.perf_counter() - start, "rows": len(tx), "cutoffs": len(cutoffs)}


def run_snapshot(folder: Path) -> dict:
    """What `segml score` computes: features at one cutoff, from the clean transactions."""
    import pandas as pd

    from segml.app.params import compose
    from segml.config import to_typed
    from segml.features.build import fit_vocabulary
    from segml.features.datasets import build_snapshot
    from segml.features.transactions import index_transactions

    cfg = to_typed(compose())
    tx, customers = (
        pd.read_parquet(folder / "tx.parquet"),
        pd.read_parquet(folder / "customers.parquet"),
    )
    vocab = fit_vocabulary(
        index_transactions(tx, customers), cfg.features
    )  # comes with a trained model: not timed
    start = time.perf_counter()
    snap = build_snapshot(tx, customers, cfg.features, vocab, None, cfg.labels.horizon_days)
    return {
        "seconds": time.perf_counter() - start,
        "rows": len(tx),
        "customers": len(snap),
        "features": snap.shape[1] - 2,
    }


def run_stage(folder: Path) -> dict:
    """The feature stage as pipelines/features.py runs it: read and index the prepared tables,
    build every cutoff with labels, write the tables."""
    from segml.app.params import compose
    from segml.config import to_typed
    from segml.data import io
    from segml.features.datasets import build_datasets
    from segml.features.transactions import index_transactions

    cfg = to_typed(compose())
    start = time.perf_counter()
    tx, customers = (
        io.read_parquet(folder / "tx.parquet"),
        io.read_parquet(folder / "customers.parquet"),
    )
    read = time.perf_counter()
    rows, idx = len(tx), index_transactions(tx, customers)
    del tx  # as in the stage: the index replaces the raw table
    io.release_arrow_memory()
    data = build_datasets(idx, cfg.features, cfg.labels, None)
    built = time.perf_counter()
    for name in ("labelled", "snapshot"):
        io.write_parquet(getattr(data, name), folder / "out" / f"{name}.parquet")
    io.write_json(data.summary, folder / "out" / "schedule.json")
    return {
        "seconds": built - read,
        "read_seconds": read - start,
        "write_seconds": time.perf_counter() - built,
        "rows": rows,
        "cutoffs": len(data.schedule.labelled) + 1,
        "train_rows": len(data.labelled),
    }


def run_train(folder: Path) -> dict:
    """The train stage as pipelines/train.py runs it: backtest folds, grades, production refit."""
    from segml.app.params import compose
    from segml.config import to_typed
    from segml.data import io
    from segml.features.datasets import schedule_from_summary
    from segml.models.training import train_models

    cfg = to_typed(compose())
    labelled = io.read_parquet(folder / "out" / "labelled.parquet")
    start = time.perf_counter()
    trained = train_models(
        labelled,
        schedule_from_summary(io.read_json(folder / "out" / "schedule.json")),
        cfg.churn,
        cfg.upside,
        cfg.seed,
    )
    grades = {t: trained.metrics[t]["summary"]["verdict_en"] for t in ("churn", "upside")}
    return {
        "seconds": time.perf_counter() - start,
        "rows": len(labelled),
        "grades": grades,
        "fit_rows": trained.metrics["churn"]["production"]["train_rows"],
    }


def run_floor_train(folder: Path) -> dict:
    """Floor: one 300-round LightGBM churn fit on every row of the production training cutoffs."""
    import lightgbm as lgb

    from segml.data import io
    from segml.features.build import feature_columns
    from segml.features.datasets import schedule_from_summary
    from segml.features.transactions import to_date

    schedule = schedule_from_summary(io.read_json(folder / "out" / "schedule.json"))
    labelled = io.read_parquet(folder / "out" / "labelled.parquet")
    rows = labelled[labelled["cutoff"].isin([to_date(d) for d in schedule.production])]
    start = time.perf_counter()
    lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, verbose=-1, n_jobs=2).fit(
        rows[feature_columns(rows)], rows["churned"]
    )
    return {"seconds": time.perf_counter() - start, "rows": len(rows)}


PHASES = {
    "floor": run_floor,
    "floor_stage": run_floor_stage,
    "snapshot": run_snapshot,
    "stage": run_stage,
    "floor_train": run_floor_train,
    "train": run_train,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate-scale", type=float, default=0.83)
    parser.add_argument("--phase", choices=sorted(PHASES))
    parser.add_argument(
        "--folder", help="keep the generated data here and reuse it on the next run"
    )
    args = parser.parse_args()
    if args.phase:  # child process: one measurement
        result = PHASES[args.phase](Path(args.folder))
        print(json.dumps({**result, "peak_mb": peak_mb()}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.folder or tmp)
        if not (folder / "tx.parquet").exists():
            folder.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            make_data(folder, args.customers, args.rate_scale)
            print(f"generated data in {time.perf_counter() - start:.1f}s")
        results = {}
        for phase in PHASES:
            out = subprocess.run(
                [sys.executable, __file__, "--phase", phase, "--folder", str(folder)],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                sys.exit(f"benchmark phase {phase} failed:\n{out.stderr}")
            results[phase] = json.loads(out.stdout.strip().splitlines()[-1])
    report(results)


def report(results: dict) -> None:
    floor, floor_stage, snap, stage, floor_train, train = (results[p] for p in PHASES)
    rows = snap["rows"]

    def line(
        label: str, seconds: float, peak_mb: float | None = None, vs: dict | None = None
    ) -> None:
        text = f"{label:<52}{seconds:7.2f}s {rows / seconds:>12,.0f} rows/s"
        if peak_mb:
            text += f"  peak {peak_mb:,.0f} MB"
        if vs:
            text += f"  ({seconds / vs['seconds']:.1f}x its floor)"
        print(text)

    print(
        f"transactions: {rows:,}   customers: {snap['customers']:,}   features: {snap['features']}   "
        f"stage cutoffs: {stage['cutoffs']}"
    )
    line("floor: bare pandas R/F/M, 1 cutoff", floor["seconds"], floor["peak_mb"])
    line(
        f"floor: bare pandas R/F/M, {floor_stage['cutoffs']} cutoffs",
        floor_stage["seconds"],
        floor_stage["peak_mb"],
    )
    line("segml features, 1 cutoff (segml score)", snap["seconds"], snap["peak_mb"], floor)
    line(
        f"segml feature stage, {stage['cutoffs']} cutoffs + labels + BG/NBD",
        stage["seconds"],
        stage["peak_mb"],
        floor_stage,
    )
    line(
        "  ... including reading and writing parquet",
        stage["seconds"] + stage["read_seconds"] + stage["write_seconds"],
    )
    print(
        f"train: {train['rows']:,} labelled rows; production fit on {train['fit_rows']:,} sampled rows"
    )
    print(
        f"{'floor: one 300-round LightGBM fit, ' + format(floor_train['rows'], ',') + ' rows':<52}"
        f"{floor_train['seconds']:7.2f}s  peak {floor_train['peak_mb']:,.0f} MB"
    )
    print(
        f"{'segml train stage: 3 folds x 2 models + refit':<52}{train['seconds']:7.2f}s  peak {train['peak_mb']:,.0f} MB"
        f"  ({train['seconds'] / floor_train['seconds']:.1f}x its floor)"
    )
    for target, verdict in train["grades"].items():
        print(f"  {target}: {verdict}")


if __name__ == "__main__":
    main()
