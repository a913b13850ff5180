"""Shared fixtures: tiny hand-made tables and the typed default config."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

# Each pytest-xdist worker gets one thread for LightGBM, KMeans and BLAS (and so do the pipeline
# subprocesses it starts): two workers on two cores, each spinning two OpenMP threads, ran the
# end-to-end runs four times slower. Set before numpy and LightGBM load.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"

from pathlib import Path

import pandas as pd
import pytest

from segml.app.params import compose
from segml.config import Config, to_typed

ROOT = Path(__file__).resolve().parents[1]
# a child Python process that imports this checkout's segml
SRC_ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def start_python(code: str, cwd: Path) -> subprocess.Popen:
    """`code` in a fresh interpreter (a second process: a run holding the lock, a killed writer)."""
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=cwd, env=SRC_ENV, stdout=subprocess.PIPE, text=True
    )


def kill_python(process: subprocess.Popen) -> None:
    process.kill()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def cfg() -> Config:
    return to_typed(compose(conf_dir=ROOT / "conf"))


# The end-to-end files, longest first: the two workers start on the first two (the monthly
# walkthrough builds the shared demo project, the subscription demo needs none of it, so neither
# waits for the other), and each takes the next as it finishes.
SLOWEST = (
    "e2e/test_monthly.py",
    "e2e/test_subscription_demo.py",
    "e2e/test_pipeline.py",
    "e2e/test_both_demo.py",
)
# The other long files, longest first: the slow ones (trained models or whole in-memory runs
# shared by their tests) right after the end-to-end ones, the longest unit-test files first of
# theirs, so no worker is left running one of them alone at the end.
LONGEST = (
    "models/test_training.py",
    "models/test_training_shapes.py",
    "reporting/test_business_text.py",
    "app/test_pipeline.py",
    "test_config.py",
    "app/test_params.py",
    "reporting/test_run_logger.py",
    "reporting/test_report.py",
    "reporting/test_forecast_view.py",
    "reporting/test_workbook.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow files first (the longest end-to-end ones first), so each of the two workers starts
    on one of them, then the longest unit-test files; the quick files fill in around them (with
    `--no-loadscope-reorder`, xdist keeps this order)."""
    tests = Path(__file__).parent

    def rank(path: str, names: tuple[str, ...]) -> int:
        return names.index(path) if path in names else len(names)

    def order(item: pytest.Item) -> tuple[bool, int, int]:
        path = item.path.relative_to(tests).as_posix()
        return item.get_closest_marker("slow") is None, rank(path, SLOWEST), rank(path, LONGEST)

    items.sort(key=order)


def demo_snapshot(cfg: Config, customers: int, seed: int) -> pd.DataFrame:
    """Generated demo transactions, prepared and turned into today's features (90-day horizon)."""
    from segml.data.generate import generate
    from segml.data.validate import prepare
    from segml.features.build import Vocabulary
    from segml.features.datasets import build_snapshot

    demo = generate(customers, seed=seed)
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    prepared = prepare(demo.transactions.astype(str), None, identity)
    return build_snapshot(prepared.transactions, None, cfg.features, Vocabulary(), None, 90)


def rule_scorers(snapshot: pd.DataFrame):
    """Churn and value rules as scorers: fast, and the tier logic does not care what scored."""
    from segml.models.scorers import RuleScorer

    churn = RuleScorer("bgnbd_p_no_purchase", "baseline_bgnbd", calibrate=False).fit(snapshot)
    upside = RuleScorer("spend_90d", "baseline_last_period", calibrate=False).fit(snapshot)
    return churn, upside


def tx_frame(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, 'YYYY-MM-DD[ HH:MM]', amount[, category[, channel[, order_id]]]) -> clean transactions."""
    records = []
    for i, row in enumerate(rows):
        cid, ts, amount, *rest = row
        category = rest[0] if len(rest) > 0 else "food"
        channel = rest[1] if len(rest) > 1 else "app"
        order = rest[2] if len(rest) > 2 else f"O{i:04d}"
        records.append(
            {
                "customer_id": cid,
                "ts": pd.Timestamp(ts),
                "amount": float(amount),
                "order_id": order,
                "quantity": 1.0,
                "category": category,
                "channel": channel,
            }
        )
    frame = pd.DataFrame(records)
    frame["ts"] = frame["ts"].astype("datetime64[ns]")
    for column in ("customer_id", "order_id", "category", "channel"):
        frame[column] = frame[column].astype("str")
    return frame


def csv_project(
    cfg: Config, folder: Path, transactions: pd.DataFrame, customers: pd.DataFrame, **changes
) -> Config:
    """Raw tables written as the user's CSV files in `folder`, and a config reading them (columns
    named as in the schema); `changes` replace top-level settings (e.g. `as_of`, `dask`)."""
    raw = folder / "raw"
    raw.mkdir(parents=True)
    transactions.astype(str).to_csv(raw / "tx.csv", index=False)
    customers.astype(str).to_csv(raw / "customers.csv", index=False)
    paths = dataclasses.replace(
        cfg.paths,
        raw_transactions=str(raw / "tx.csv"),
        raw_customers=str(raw / "customers.csv"),
        prepared_dir=str(folder / "prepared"),
    )
    data = dataclasses.replace(
        cfg.data,
        encoding="utf-8",
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    return dataclasses.replace(cfg, paths=paths, data=data, **changes)
