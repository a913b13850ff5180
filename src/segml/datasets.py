"""The features stage: training, validation and snapshot tables from clean transactions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from segml import schema as s
from segml.config import FeaturesConfig, LabelsConfig
from segml.features import (Vocabulary, build_features, customers_at, fit_vocabulary, index_transactions, to_date,
                            to_day)
from segml.labels import Cutoffs, check_sufficiency, cutoff_schedule, label_window


@dataclass(frozen=True)
class Datasets:
    train: pd.DataFrame  # stacked training cutoffs, with labels
    valid: pd.DataFrame  # the validation cutoff, with labels
    snapshot: pd.DataFrame  # as_of, no labels: what gets scored
    vocabulary: Vocabulary
    cutoffs: Cutoffs
    summary: dict


def resolve_as_of(tx: pd.DataFrame, as_of: str | None) -> int:
    """The scoring day: configured, else the last transaction day. Never today's date."""
    return to_day(as_of) if as_of else to_day(tx[s.TS].max())


def build_snapshot(tx: pd.DataFrame, customers: pd.DataFrame, features_cfg: FeaturesConfig, vocab: Vocabulary,
                   as_of: str | None, horizon_days: int) -> pd.DataFrame:
    """Features as of `as_of` only (no labels): what `segml score` needs for new data."""
    idx = index_transactions(tx, vocab, customers)
    return build_features(idx, resolve_as_of(tx, as_of), features_cfg, vocab, (horizon_days,), horizon_days)


def build_datasets(tx: pd.DataFrame, customers: pd.DataFrame, features_cfg: FeaturesConfig,
                   labels_cfg: LabelsConfig, as_of: str | None) -> Datasets:
    as_of_day = resolve_as_of(tx, as_of)
    first_day = to_day(tx[s.TS].min())
    cutoffs = cutoff_schedule(first_day, as_of_day, labels_cfg)
    earliest = min([*cutoffs.training, cutoffs.validation])
    # Levels are learnt from data before the earliest cutoff, so no cutoff sees later categories.
    vocab = fit_vocabulary(tx[tx[s.TS] < to_date(earliest + 1)], customers, features_cfg)
    idx = index_transactions(tx, vocab, customers)
    h = labels_cfg.horizon_days

    def labelled(cutoff_day: int) -> pd.DataFrame:
        feats = build_features(idx, cutoff_day, features_cfg, vocab, (h,), h)
        # both tables list the customers who bought by the cutoff in customer-code order
        labels = label_window(idx, cutoff_day, h)[customers_at(idx, cutoff_day)].reset_index(drop=True)
        feats = feats.assign(**{s.CHURNED: labels[s.CHURNED], s.FUTURE_VALUE: labels[s.FUTURE_VALUE]})
        if labels_cfg.active_within_days:  # long-lost customers teach and prove nothing
            feats = feats[feats["recency_days"] <= labels_cfg.active_within_days].reset_index(drop=True)
        return feats

    valid = labelled(cutoffs.validation)
    check_sufficiency(first_day, as_of_day, cutoffs, valid, labels_cfg)
    train = pd.concat([labelled(c) for c in cutoffs.training], ignore_index=True)
    snapshot = build_features(idx, as_of_day, features_cfg, vocab, (h,), h)
    summary = {
        "as_of": str(to_date(as_of_day).date()),
        "validation_cutoff": str(to_date(cutoffs.validation).date()),
        "training_cutoffs": [str(to_date(c).date()) for c in cutoffs.training],
        "train_rows": len(train),
        "valid_rows": len(valid),
        "snapshot_customers": len(snapshot),
        "train_churn_rate": float(train[s.CHURNED].mean()) if len(train) else None,
        "valid_churn_rate": float(valid[s.CHURNED].mean()) if len(valid) else None,
    }
    return Datasets(train, valid, snapshot, vocab, cutoffs, summary)
