"""The features stage for `segml score`: the snapshot alone (no labels), with the vocabulary the
registered models learnt from."""

from __future__ import annotations

from segml.config import Config
from segml.data.catalog import Catalog
from segml.features.build import Vocabulary
from segml.features.datasets import build_snapshot
from segml.stages.step import Engine


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    vocabulary = catalog.read("vocabulary")
    snapshot = build_snapshot(
        catalog.read("prepared_transactions"),
        catalog.read("prepared_customers"),
        cfg.features,
        Vocabulary(**vocabulary) if vocabulary is not None else None,
        cfg.as_of,
        cfg.labels.horizon_days,
        cfg.data,
    )
    catalog.write("snapshot", snapshot)
