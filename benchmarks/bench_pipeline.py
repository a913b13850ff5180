"""End-to-end benchmark: every stage from the raw CSV at a million customers, beside floors.

Usage: make bench
       python benchmarks/bench_pipeline.py [--customers 1000000] [--folder DIR] [overrides ...]
       make bench ARGS="--customers 4000000 engine=dask"   (about 49 M transactions)

The project folder (default logs/bench/c<customers>, git-ignored) gets the repository's conf/ and
pipelines/, messy generated data (made once, reused), and params.yaml composed with the overrides
(e.g. `segment.fit_sample=50000`). Each stage runs as `python pipelines/<stage>.py` in its own process, so its
time and peak memory (max RSS) are its own. The floors run in the same session, on the same files,
so a busy machine slows both alike:
- a columnar CSV read of the raw transactions (pyarrow.csv, from a warm page cache) for prepare;
- a bare pandas R/F/M group-by at one cutoff for features;
- one 300-round LightGBM fit on the rows of the production training cutoffs for train;
- and, for the day's machine, filling 2 GB of new memory in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import runpy
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ["prepare", "features", "segment", "train", "tier", "audit", "export"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def segml(*args: str, cwd: Path) -> None:
    """The project's own CLI, from this interpreter's environment."""
    subprocess.run([str(Path(sys.executable).parent / "segml"), *args], cwd=cwd, check=True)


def set_up(folder: Path, customers: int, overrides: list[str]) -> None:
    """A project folder sharing the repository's conf/ and pipelines/; data generated once."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("conf", "pipelines"):
        if not (folder / name).exists():
            (folder / name).symlink_to(REPO / name)
    if not (folder / "data" / "raw" / "transactions.csv").exists():
        start = time.perf_counter()
        if customers <= SHARD:
            segml("generate", "--customers", str(customers), cwd=folder)
        else:
            generate_in_shards(folder, customers)
        print(f"generated {customers:,} customers in {time.perf_counter() - start:.0f} s")
    segml("compose", *overrides, cwd=folder)


SHARD = 1_000_000  # the generator holds everything in memory: 1 M customers take about 6 GB


def generate_in_shards(folder: Path, customers: int) -> None:
    """More customers than the generator holds at once: shards of 1 M customers (each its own
    seed), their ids prefixed with the shard number, appended to one pair of files."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pv
    import yaml

    from segml.config import to_typed

    shard_folder = folder / "shard"
    shard_folder.mkdir(exist_ok=True)
    if not (shard_folder / "conf").exists():
        (shard_folder / "conf").symlink_to(REPO / "conf")
    raw = folder / "data" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for k, first in enumerate(range(0, customers, SHARD)):
        size = min(SHARD, customers - first)
        segml("generate", "--customers", str(size), "--seed", str(100 + k), cwd=shard_folder)
        segml("compose", cwd=shard_folder)
        data = to_typed(yaml.safe_load((shard_folder / "params.yaml").read_text())).data
        for name, id_column in (
            ("transactions.csv", data.columns["customer_id"]),
            ("customers.csv", data.customer_columns["customer_id"]),
        ):
            source = shard_folder / "data" / "raw" / name
            with pv.open_csv(source) as reader:  # every column as text: ids keep leading zeros
                text = {column: pa.string() for column in reader.schema.names}
            table = pv.read_csv(
                source,
                convert_options=pv.ConvertOptions(column_types=text, strings_can_be_null=False),
            )
            # a prefix on every written id (leading spaces kept, empty ids stay empty)
            ids = pc.replace_substring_regex(table[id_column], r"^(\s*)(\S)", rf"\1{k}-\2")
            table = table.set_column(table.schema.get_field_index(id_column), id_column, ids)
            with open(raw / name, "wb" if k == 0 else "ab") as out:
                if k == 0:
                    out.write("\ufeff".encode())  # the demo's files are utf-8-sig
                options = pv.WriteOptions(include_header=k == 0, quoting_style="needed")
                pv.write_csv(table, out, options)
        print(f"  shard {k + 1}: {size:,} customers", flush=True)


# --- measurements, each in a child process (`--measure NAME`) -------------------------------


def measure_stage(stage: str) -> dict:
    start = time.perf_counter()
    runpy.run_path(f"pipelines/{stage}.py", run_name="__main__")
    return {"seconds": time.perf_counter() - start}


def floor_csv() -> dict:
    """Prepare's floor: read the raw transactions CSV, columnar (Arrow's own type inference), in a
    fresh process as prepare does, from a warm page cache as prepare does (it runs right after)."""
    import pyarrow.csv as pv

    from segml.app.params import load_config

    path = load_config().paths.raw_transactions
    with open(path, "rb") as handle:  # into the page cache, not into this process
        while handle.read(64 << 20):
            pass
    start = time.perf_counter()
    table = pv.read_csv(path)
    return {"seconds": time.perf_counter() - start, "rows": table.num_rows}


def floor_rfm() -> dict:
    """Features' floor: recency, frequency and monetary per customer at the last day, in pandas."""
    from segml.app.params import load_config
    from segml.data.catalog import Catalog

    cfg = load_config()
    tx = Catalog.from_config(cfg.paths).read("prepared_transactions")[
        ["customer_id", "ts", "amount"]
    ]
    cutoff = tx["ts"].max()
    start = time.perf_counter()
    rfm = tx.groupby("customer_id").agg(
        last=("ts", "max"), frequency=("ts", "size"), monetary=("amount", "sum")
    )
    rfm["recency_days"] = (cutoff - rfm["last"]).dt.days
    return {"seconds": time.perf_counter() - start, "rows": len(tx)}


def floor_fit() -> dict:
    """Train's floor: one 300-round LightGBM churn fit on the production cutoffs' rows of the
    churn model's training pool (drawn as the train stage draws it)."""
    import lightgbm as lgb

    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.features.build import Vocabulary, feature_columns, with_vocabulary_levels
    from segml.features.datasets import schedule_from_summary
    from segml.features.transactions import to_date
    from segml.models.sampling import read_training_rows

    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    schedule = schedule_from_summary(catalog.read("schedule"))
    vocabulary = Vocabulary(**catalog.read("vocabulary"))

    def read(when):
        rows = catalog.read("labelled", filters=[("cutoff", "==", when)])
        return with_vocabulary_levels(rows, vocabulary)

    _, pools = read_training_rows(read, schedule, cfg.churn, cfg.upside, cfg.seed)
    rows = pools["churn"][pools["churn"]["cutoff"].isin([to_date(d) for d in schedule.production])]
    features = rows[feature_columns(rows)].select_dtypes("number")
    start = time.perf_counter()
    lgb.LGBMClassifier(n_estimators=300, learning_rate=0.05, verbose=-1).fit(
        features, rows["churned"]
    )
    return {"seconds": time.perf_counter() - start, "rows": len(rows)}


def floor_memory() -> dict:
    """The machine's toll on new memory: a fresh process fills 2 GB. Every stage pays it for
    each new page, and on a virtual machine it moves from day to day more than anything else."""
    import numpy as np

    start = time.perf_counter()
    filled = np.ones(MEMORY_FLOOR_BYTES // 8)
    return {"seconds": time.perf_counter() - start, "bytes": filled.nbytes}


MEMORY_FLOOR_BYTES = 2 << 30
FLOORS = {"csv": floor_csv, "rfm": floor_rfm, "fit": floor_fit, "memory": floor_memory}


def child(name: str) -> None:
    result = measure_stage(name) if name in STAGES else FLOORS[name]()
    print("BENCH " + json.dumps({**result, "peak_mb": peak_mb()}))


def run_child(name: str, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--measure", name],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("BENCH ")]
    if out.returncode or not lines:
        sys.exit(f"benchmark step {name} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    result = json.loads(lines[-1][len("BENCH ") :])
    # engine=dask: the stage prints its Dask workers' peak memory (max RSS is this process only)
    workers = re.search(r"worker peak memory (.*\))", out.stderr)
    return {**result, "workers": workers.group(1)} if workers else result


# --- the run ----------------------------------------------------------------------------------


def row_counts(folder: Path) -> dict[str, tuple[int, str]]:
    """What each stage processes, read back from its outputs: (count, unit)."""
    os.chdir(folder)
    from segml.app.params import load_config
    from segml.data.catalog import Catalog

    catalog = Catalog.from_config(load_config(check=False).paths)
    quality = catalog.read("data_quality")
    schedule = catalog.read("schedule")
    raw, clean = quality["rows_read"], quality["rows_clean"]
    customers = schedule["snapshot_customers"]
    return {
        "prepare": (raw, "raw rows"),
        "features": (clean, "transactions"),
        "segment": (customers, "customers"),
        "train": (schedule["labelled_rows"], "labelled rows"),
        "tier": (customers, "customers"),
        "audit": (customers, "customers"),
        "export": (customers, "customers"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument(
        "overrides", nargs="*", help="Hydra overrides, e.g. segment.fit_sample=50000"
    )
    args = parser.parse_args()
    if args.measure:
        child(args.measure)
        return
    folder = (args.folder or REPO / "logs" / "bench" / f"c{args.customers}").resolve()
    set_up(folder, args.customers, args.overrides)
    results, floors = {}, {"memory": run_child("memory", folder)}
    floors["csv"] = run_child("csv", folder)
    for stage in STAGES:
        print(f"running {stage} ...", flush=True)
        results[stage] = run_child(stage, folder)
        if stage == "prepare":
            floors["rfm"] = run_child("rfm", folder)
        if stage == "features":
            floors["fit"] = run_child("fit", folder)
    report(results, floors, row_counts(folder), args.overrides)
    (folder / "bench.json").write_text(json.dumps({"stages": results, "floors": floors}, indent=2))


def report(results: dict, floors: dict, counts: dict, overrides: list[str]) -> None:
    floor_of = {"prepare": "csv", "features": "rfm", "train": "fit"}
    floor_names = {
        "csv": "columnar CSV read (pyarrow)",
        "rfm": "bare R/F/M group-by, 1 cutoff",
        "fit": "one 300-round LightGBM fit",
    }
    print(f"\nsegml pipeline benchmark {' '.join(overrides) or '(default config)'}")
    header = f"{'stage':<10}{'time':>9}{'rows/s':>13}  {'of':<15}{'peak':>9}   floor"
    print(header + "\n" + "-" * (len(header) + 40))
    for stage in STAGES:
        seconds, peak = results[stage]["seconds"], results[stage]["peak_mb"]
        n, unit = counts[stage]
        text = f"{stage:<10}{seconds:8.1f}s{n / seconds:>13,.0f}  {unit:<15}{peak / 1024:8.1f}G"
        if stage in floor_of:
            floor = floors[floor_of[stage]]
            text += (
                f"   {seconds / floor['seconds']:.1f}x {floor_names[floor_of[stage]]}"
                f" ({floor['seconds']:.1f}s, {floor['rows']:,} rows)"
            )
        if "workers" in results[stage]:
            text += f"   Dask workers {results[stage]['workers']}"
        print(text)
    total = sum(r["seconds"] for r in results.values())
    peak = max(r["peak_mb"] for r in results.values())
    print(f"{'pipeline':<10}{total:8.1f}s{'':>30}{peak / 1024:8.1f}G  (largest stage peak)")
    tier_per_minute = counts["tier"][0] / results["tier"]["seconds"] * 60
    print(f"tier: {tier_per_minute:,.0f} customers per minute")
    per_gb = floors["memory"]["seconds"] / (floors["memory"]["bytes"] / 2**30)
    print(f"machine: new memory costs {per_gb:.2f} s per GB (2 GB filled in a fresh process)")


if __name__ == "__main__":
    main()
