"""The prepare stage: the user's export -> clean transactions (or, with `data.kind:
subscriptions`, clean subscriptions, usage and payments) and customers, rejected rows (with their
reasons), customers without a usable purchase (or subscription), data-quality figures. One step
per kind (`STEPS`); the rest of the stage is the same for both."""

from __future__ import annotations

from segml.config import Config
from segml.data.both import combine_prepared
from segml.data.catalog import Catalog
from segml.data.partitions import prepare_partitioned
from segml.data.subscriptions import (
    PAYMENTS,
    SUBSCRIPTIONS,
    USAGE,
    SubscriptionExport,
    prepare_subscriptions,
    read_options,
)
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


def subscriptions(cfg: Config, catalog: Catalog, write: bool = True):
    """The subscription export: spells, optional usage and payments, the customer table (local
    engine only for now: config composing stops `engine: dask` with subscriptions)."""
    data = cfg.data
    tables = {
        name: catalog.read_raw(f"raw_{name}", options, optional=name != SUBSCRIPTIONS)
        for name in (SUBSCRIPTIONS, PAYMENTS, USAGE)
        if (options := read_options(data, name)) is not None
    }
    customers = catalog.read_raw(
        "raw_customers", data.read_options(customers=True), optional=data.customers_optional
    )
    names = ("raw_subscriptions", "raw_payments", "raw_usage", "raw_customers")
    sources = {name.removeprefix("raw_"): catalog.source(name) for name in names}
    result = prepare_subscriptions(
        SubscriptionExport(**tables, customers=customers), data, cfg.as_of, sources
    )
    for name in (SUBSCRIPTIONS, PAYMENTS, USAGE, "customers") if write else ():
        catalog.write(f"prepared_{name}", getattr(result, name))
    return result


def both(cfg: Config, catalog: Catalog):
    """Both exports (`data.kind: both`): each by its own reader, the customer table kept once, the
    rejected rows, the customers without either and the quality figures put together."""
    purchases = whole(cfg, catalog)
    result = combine_prepared(
        purchases, subscriptions(cfg, catalog, write=False), catalog.source("raw_customers")
    )
    for name in (SUBSCRIPTIONS, PAYMENTS, USAGE):
        catalog.write(f"prepared_{name}", getattr(result, name))
    return result


STEP = Step(whole, per_partition)
STEPS = {"transactions": STEP, "subscriptions": Step(subscriptions), "both": Step(both)}


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    result = engine.run(STEPS[cfg.data.kind], cfg, catalog)
    catalog.write("rejected", result.rejected)
    catalog.write("no_purchase_customers", result.no_purchase)
    catalog.write_metrics("data_quality", result.quality, headline(result.quality))


def headline(quality: dict) -> dict:
    """The data-quality numbers DVC compares (README, "DVC metrics"): rows kept, and the share
    rejected."""
    keys = ("rows_clean", "rejected_share")
    return {"quality": {key: quality.get(key) for key in keys}}
