"""The prepare stage: the user's export -> clean transactions and customers, rejected rows (with
their reasons), customers without a usable purchase, data-quality figures."""

from __future__ import annotations

from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.partitions import prepare_partitioned
from segml.data.validate import prepare
from segml.stages.step import Engine, Partitions, Step


def whole(cfg: Config, catalog: Catalog):
    transactions, customers = catalog.read_raw_inputs(cfg.data)
    sources = catalog.source("raw_transactions"), catalog.source("raw_customers")
    result = prepare(transactions, customers, cfg.data, cfg.as_of, *sources)
    catalog.write("prepared_transactions", result.transactions)
    catalog.write("prepared_customers", result.customers)
    return result


def per_partition(parts: Partitions, cfg: Config, catalog: Catalog):
    """The clean tables become folders of customer partitions (the features stage reads them so)."""
    sources = catalog.source("raw_transactions"), catalog.source("raw_customers")
    out = catalog.path("prepared_transactions"), catalog.path("prepared_customers")
    return prepare_partitioned(parts, cfg.data, cfg.as_of, cfg.dask.partitions, sources, *out)


STEP = Step(whole, per_partition)


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    result = engine.run(STEP, cfg, catalog)
    catalog.write("rejected", result.rejected)
    catalog.write("no_purchase_customers", result.no_purchase)
    catalog.write_metrics("data_quality", result.quality, headline(result.quality))


def headline(quality: dict) -> dict:
    """The data-quality numbers DVC compares (README, "DVC metrics"): rows kept, and the share
    rejected."""
    keys = ("rows_clean", "rejected_share")
    return {"quality": {key: quality.get(key) for key in keys}}
