"""Benchmark the feature stage on ~10M transactions / 1M customers; prints rows/s and peak memory.

Usage: python benchmarks/bench_features.py [--customers 1000000] [--rate-scale 0.83]
Each measurement runs in a fresh process so its peak memory (max RSS) is its own. The input is
what the feature stage reads: the prepare stage's clean table, sorted by customer and time. The
floor is a bare pandas group-by computing only recency, frequency and monetary at one cutoff.
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
    from segml.generate import generate

    demo = generate(customers, seed=1, messy=False, rate_scale=rate_scale)
    tx = demo.transactions.astype({"customer_id": "str", "order_id": "str", "category": "str", "channel": "str",
                                   "quantity": float})
    # the feature stage reads the prepare stage's output, which is sorted by customer and time
    tx = tx.sort_values(["customer_id", "ts", "order_id"], kind="stable", ignore_index=True)
    tx.to_parquet(folder / "tx.parquet", index=False)
    demo.customers.astype("str").to_parquet(folder / "customers.parquet", index=False)


def run_floor(folder: Path) -> dict:
    import pandas as pd

    tx = pd.read_parquet(folder / "tx.parquet", columns=["customer_id", "ts", "amount"])
    cutoff = tx["ts"].max()
    start = time.perf_counter()
    seen = tx[tx["ts"] <= cutoff]
    rfm = seen.groupby("customer_id").agg(last=("ts", "max"), frequency=("ts", "size"), monetary=("amount", "sum"))
    rfm["recency_days"] = (cutoff - rfm["last"]).dt.days
    return {"seconds": time.perf_counter() - start, "rows": len(tx), "customers": len(rfm)}


def run_snapshot(folder: Path) -> dict:
    import pandas as pd

    from segml.config import compose, to_typed
    from segml.datasets import build_snapshot
    from segml.features import fit_vocabulary

    cfg = to_typed(compose())
    tx, customers = pd.read_parquet(folder / "tx.parquet"), pd.read_parquet(folder / "customers.parquet")
    start = time.perf_counter()
    vocab = fit_vocabulary(tx, customers, cfg.features)
    snap = build_snapshot(tx, customers, cfg.features, vocab, None, cfg.labels.horizon_days)
    return {"seconds": time.perf_counter() - start, "rows": len(tx), "customers": len(snap),
            "features": snap.shape[1] - 2}


def run_stage(folder: Path) -> dict:
    import pandas as pd

    from segml.config import compose, to_typed
    from segml.datasets import build_datasets

    cfg = to_typed(compose())
    tx, customers = pd.read_parquet(folder / "tx.parquet"), pd.read_parquet(folder / "customers.parquet")
    start = time.perf_counter()
    data = build_datasets(tx, customers, cfg.features, cfg.labels, None)
    cutoffs = len(data.cutoffs.training) + 2
    return {"seconds": time.perf_counter() - start, "rows": len(tx), "cutoffs": cutoffs,
            "train_rows": len(data.train)}


PHASES = {"floor": run_floor, "snapshot": run_snapshot, "stage": run_stage}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--rate-scale", type=float, default=0.83)
    parser.add_argument("--phase", choices=sorted(PHASES))
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.phase:  # child process: one measurement
        result = PHASES[args.phase](Path(args.folder))
        print(json.dumps({**result, "peak_mb": peak_mb()}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        make_data(folder, args.customers, args.rate_scale)
        print(f"generated data in {time.perf_counter() - start:.1f}s")
        results = {}
        for phase in ("floor", "snapshot", "stage"):
            out = subprocess.run([sys.executable, __file__, "--phase", phase, "--folder", tmp],
                                 capture_output=True, text=True, check=True)
            results[phase] = json.loads(out.stdout.strip().splitlines()[-1])
    floor, snap, stage = results["floor"], results["snapshot"], results["stage"]
    rows = snap["rows"]
    print(f"transactions: {rows:,}   customers: {snap['customers']:,}   features: {snap['features']}")
    print(f"bare pandas R/F/M group-by : {floor['seconds']:7.2f}s  {rows / floor['seconds']:>12,.0f} rows/s  "
          f"peak {floor['peak_mb']:,.0f} MB")
    print(f"segml snapshot features     : {snap['seconds']:7.2f}s  {rows / snap['seconds']:>12,.0f} rows/s  "
          f"peak {snap['peak_mb']:,.0f} MB  ({snap['seconds'] / floor['seconds']:.1f}x the floor)")
    print(f"segml feature stage ({stage['cutoffs']} cutoffs, labels, BG/NBD): {stage['seconds']:7.2f}s  "
          f"{rows / stage['seconds']:>12,.0f} rows/s  peak {stage['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
