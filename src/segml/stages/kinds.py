"""What differs per kind of data (`data.kind`): one small record, looked up once from config by
the stages, so no stage asks which kind it has (docs/design-subscriptions.md, section 11).

transactions: today's functions, unchanged. subscriptions: the subscriber features and observed
labels, the contractual baselines (`models.targets`), segments on recurring revenue, tenure,
products, payments, contract and usage (named by `segment.subscriber_personas`: the purchase
personas' dimensions are purchase behaviour), and the tier stage's seams (`tiering.seams`): value columns, identity columns,
lifecycle rules and the facts reasons are phrased from. RFM scores and segments, the next
purchase date and the frequency x recency views are transaction-only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pandas as pd

from segml.config import Config, FeaturesConfig, SegmentConfig
from segml.data import io
from segml.data.catalog import Catalog
from segml.features import datasets as transaction_datasets
from segml.features import subscriptions
from segml.features.build import Vocabulary
from segml.features.spells import cancelled_at, index_spells
from segml.features.subscriber_names import segment_features
from segml.features.transactions import index_transactions, to_day
from segml.stages import outcomes
from segml.tiering.seams import SUBSCRIPTION_SEAMS, TRANSACTION_SEAMS, TierSeams


def _transaction_index(catalog: Catalog):
    # the raw table is dropped once indexed: the index is all the stage needs, in far less memory
    idx = index_transactions(
        catalog.read("prepared_transactions"), catalog.read("prepared_customers")
    )
    io.release_arrow_memory()
    return idx


def _subscriber_index(catalog: Catalog):
    return subscriptions.index_subscribers(
        catalog.read("prepared_subscriptions"),
        catalog.read_optional("prepared_payments"),
        catalog.read_optional("prepared_usage"),
        catalog.read_optional("prepared_customers"),
    )


def _cancelled(catalog: Catalog, horizon_days: int) -> pd.DataFrame | None:
    """Subscribers with nothing running at as_of who left within the last year (status
    `cancelled`), and prepare's customers listed without a subscription, if it wrote any."""
    as_of = catalog.read("schedule")["as_of"]
    spells = index_spells(catalog.read("prepared_subscriptions"))
    cancelled = cancelled_at(spells, to_day(as_of))
    others = catalog.read_optional("no_purchase_customers")
    frames = [f for f in (others, cancelled) if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None


def _same_segments(
    cfg: SegmentConfig, vocabulary: Vocabulary, features: FeaturesConfig
) -> SegmentConfig:
    return cfg


def _subscriber_segments(
    cfg: SegmentConfig, vocabulary: Vocabulary, features: FeaturesConfig
) -> SegmentConfig:
    """Segments of subscribers: recurring revenue, tenure, products, payment trouble, contract
    term and the most used usage kind, over the configured windows (`subscriber_names`), named by
    `segment.subscriber_personas` (the purchase personas' profiles are purchase behaviour)."""
    names = segment_features(subscriptions.Settings.of(features), vocabulary.usage_kinds)
    return replace(cfg, features=names, personas=dict(cfg.subscriber_personas))


@dataclass(frozen=True)
class Kind:
    name: str
    index: Callable  # catalog -> the prepared tables indexed for every cutoff
    build_datasets: Callable  # (index, features, labels, as_of, data) -> Datasets
    segments: Callable[[SegmentConfig, Vocabulary, FeaturesConfig], SegmentConfig]
    tier: TierSeams
    partitioned: bool  # whether the dask engine's per-partition steps know this kind
    learnt_rows: Callable  # (snapshot, labels cfg) -> the snapshot's customers models learn about
    listed_apart: Callable  # (catalog, horizon) -> customers listed without a tier, or None
    # what really happened to earlier periods' customers, for the audit: bought again or still
    # subscribed, and revenue (segml.stages.outcomes; design note section 11)
    realized: outcomes.Outcomes


KINDS = {
    "transactions": Kind(
        "transactions",
        _transaction_index,
        transaction_datasets.build_datasets,
        _same_segments,
        TRANSACTION_SEAMS,
        True,
        transaction_datasets.active_rows,
        lambda catalog, horizon_days: catalog.read("no_purchase_customers"),
        outcomes.TRANSACTION_OUTCOMES,
    ),
    "subscriptions": Kind(
        "subscriptions",
        _subscriber_index,
        subscriptions.build_datasets,
        _subscriber_segments,
        SUBSCRIPTION_SEAMS,
        False,
        lambda snapshot, labels_cfg: snapshot,  # everyone running at as_of
        _cancelled,
        outcomes.SUBSCRIBER_OUTCOMES,
    ),
}


def kind_of(cfg: Config) -> Kind:
    return KINDS[cfg.data.kind]
