"""Features per partition of customers (engine: dask) are the features of all customers at once."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict

import pandas as pd
import pytest

from segml.app.engine import InProcess
from segml.data import io
from segml.data.generate import generate
from segml.data.partitions import prepare_partitioned
from segml.features import bgnbd, gammagamma
from segml.features.datasets import build_datasets
from segml.features.partitioned import build_partitioned
from segml.features.transactions import index_transactions
from tests.conftest import csv_project

# The BG/NBD and Gamma-Gamma fits learn from a sample of at most this many customers (10,000
# outside the tests): with more customers than that, partitions must draw the same sample.
FIT_SAMPLE = 1_500


@pytest.fixture()
def small_fit_sample(monkeypatch):
    for model in (bgnbd.BGNBD, gammagamma.GammaGamma):
        defaults = model.__init__.__defaults__
        assert defaults[0] == 10_000, "the fits' sample size moved: update this fixture"
        monkeypatch.setattr(model.__init__, "__defaults__", (FIT_SAMPLE, *defaults[1:]))


@pytest.fixture(scope="module")
def prepared(cfg, tmp_path_factory):
    """2,400 demo customers (more than the fits' sample, so it must be drawn from the same
    customers in the same order), prepared in 6 parts."""
    root = tmp_path_factory.mktemp("partitioned")
    demo = generate(2_400, seed=5)
    dask = dataclasses.replace(cfg.dask, partitions=6)
    cfg = csv_project(cfg, root, demo.transactions, demo.customers, dask=dask)
    sources = cfg.paths.raw_transactions, cfg.paths.raw_customers
    out = root / "tx.parquet", root / "customers.parquet"
    prepare_partitioned(InProcess(), cfg.data, cfg.as_of, 6, sources, *out)
    return cfg, root


def test_partitioned_features_equal_the_features_of_all_customers(prepared, small_fit_sample):
    cfg, root = prepared
    tx, customers = root / "tx.parquet", root / "customers.parquet"
    whole = build_datasets(
        index_transactions(pd.read_parquet(tx), pd.read_parquet(customers)),
        cfg.features,
        cfg.labels,
        cfg.as_of,
    )
    out = root / "features"
    parts = build_partitioned(
        InProcess(),
        tx,
        customers,
        cfg.features,
        cfg.labels,
        cfg.as_of,
        out / "labelled.parquet",
        out / "snapshot.parquet",
        out / ".partitions",
    )
    assert whole.summary["snapshot_customers"] > FIT_SAMPLE  # the fits sample customers
    for name in ("labelled", "snapshot"):  # as the stage writes them, and later stages read them
        io.write_parquet(getattr(whole, name), root / f"{name}.parquet")
        pd.testing.assert_frame_equal(
            pd.read_parquet(out / f"{name}.parquet"), pd.read_parquet(root / f"{name}.parquet")
        )
    assert asdict(parts.vocabulary) == asdict(whole.vocabulary)
    assert parts.vocabulary.attributes and parts.vocabulary.categories
    assert parts.summary == whole.summary
    assert not (out / ".partitions").exists()
