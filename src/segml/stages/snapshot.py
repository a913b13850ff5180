"""The features stage for `segml score`: the snapshot alone (no labels), with the vocabulary and
the churn window the registered models learnt with, and the scoring run's record of them."""

from __future__ import annotations

from segml.config import Config
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.errors import ConfigError
from segml.features.build import Vocabulary
from segml.features.datasets import build_snapshot, resolve_as_of
from segml.features.transactions import to_day
from segml.models.horizon import trained_horizon
from segml.stages.artifacts import MODELS
from segml.stages.schedule import scoring_record
from segml.stages.step import Engine


def registered_horizon(catalog: Catalog) -> int:
    """The churn window the registered churn and value models were trained for."""
    horizon = trained_horizon(catalog.read(MODELS["churn"]), catalog.read(MODELS["upside"]))
    if horizon is None:
        raise ConfigError(
            "the registered models do not say which churn window they predict (they were "
            "registered before segml recorded it): train and register a new set with `segml run`"
        )
    return horizon


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    vocabulary = catalog.read("vocabulary")
    transactions = catalog.read("prepared_transactions")
    horizon = registered_horizon(catalog)
    snapshot = build_snapshot(
        transactions,
        catalog.read("prepared_customers"),
        cfg.features,
        Vocabulary(**vocabulary) if vocabulary is not None else None,
        cfg.as_of,
        horizon,
        cfg.data,
    )
    catalog.write("snapshot", snapshot)
    as_of_day = resolve_as_of(to_day(transactions[s.TS].max()), cfg.as_of, cfg.data)
    catalog.write("schedule", scoring_record(as_of_day, horizon))
