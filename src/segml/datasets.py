"""The features stage: training, validation and snapshot tables from clean transactions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml import schema as s
from segml.config import FeaturesConfig, LabelsConfig
from segml.features import Cutoff, Vocabulary, build_features, fit_vocabulary
from segml.labels import Cutoffs, check_sufficiency, cutoff_schedule
from segml.transactions import TransactionIndex, index_transactions, to_date, to_day


@dataclass(frozen=True)
class Datasets:
    train: pd.DataFrame  # stacked training cutoffs, with labels
    valid: pd.DataFrame  # the validation cutoff, with labels
    snapshot: pd.DataFrame  # as_of, no labels: what gets scored
    vocabulary: Vocabulary
    cutoffs: Cutoffs
    summary: dict


def resolve_as_of(idx: TransactionIndex, as_of: str | None) -> int:
    """The scoring day: configured, else the last transaction day. Never today's date."""
    return to_day(as_of) if as_of else int(idx.day.max())


def build_snapshot(tx: pd.DataFrame, customers: pd.DataFrame | None, features_cfg: FeaturesConfig,
                   vocab: Vocabulary, as_of: str | None, horizon_days: int) -> pd.DataFrame:
    """Features as of `as_of` only (no labels): what `segml score` needs for new data."""
    idx = index_transactions(tx, customers)
    return build_features(idx, [resolve_as_of(idx, as_of)], features_cfg, vocab, horizon_days)


def build_datasets(idx: TransactionIndex, features_cfg: FeaturesConfig, labels_cfg: LabelsConfig,
                   as_of: str | None) -> Datasets:
    """Training cutoffs and the validation cutoff with labels, and the snapshot, from indexed
    transactions (`index_transactions`)."""
    as_of_day = resolve_as_of(idx, as_of)
    first_day = int(idx.day.min())
    cutoffs = cutoff_schedule(first_day, as_of_day, labels_cfg)
    earliest = min([*cutoffs.training, cutoffs.validation])
    # Levels are learnt from data up to the earliest cutoff, so no cutoff sees later categories.
    vocab = fit_vocabulary(idx, features_cfg, until_day=earliest)
    h = labels_cfg.horizon_days
    # Training and validation rows are customers active in the recent past (long-lost customers
    # teach and prove nothing); the snapshot has everyone. All in one pass over the transactions.
    active = labels_cfg.active_within_days or None
    labelled = [Cutoff(day, active) for day in [*cutoffs.training, cutoffs.validation]]
    frame = build_features(idx, [*labelled, Cutoff(as_of_day)], features_cfg, vocab, h, with_labels=True)
    # rows come in cutoff order: training, then validation, then the snapshot
    n_train, n_labelled = np.searchsorted(frame[s.CUTOFF].to_numpy(),
                                          [to_date(d).to_datetime64() for d in (cutoffs.validation, as_of_day)])
    train = frame.iloc[:n_train]
    valid = frame.iloc[n_train:n_labelled].reset_index(drop=True)
    check_sufficiency(first_day, as_of_day, cutoffs, valid, labels_cfg)
    # the snapshot's labels would need the future; its rows equal what `segml score` builds
    snapshot = frame.iloc[n_labelled:].drop(columns=[s.CHURNED, s.FUTURE_VALUE]).reset_index(drop=True)
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
