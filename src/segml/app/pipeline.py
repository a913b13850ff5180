"""The whole pipeline in memory (for sweeps and notebooks); the DVC stages call the same functions."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from segml.config import Config
from segml.data.validate import Prepared, prepare
from segml.features.datasets import Datasets, build_datasets
from segml.features.transactions import index_transactions
from segml.models.segment import segment_customers
from segml.models.training import Trained, train_models
from segml.reporting.exports import Exports, export_stage, report_inputs
from segml.tiering.scoring import TierResult, score_customers


@dataclass(frozen=True)
class PipelineResult:
    prepared: Prepared
    datasets: Datasets
    trained: Trained
    tiers: TierResult
    exports: Exports
    metrics: dict


def run_pipeline(
    raw_transactions: pd.DataFrame | pa.Table,
    raw_customers: pd.DataFrame | pa.Table | None,
    cfg: Config,
    salt: str | None = None,
) -> PipelineResult:
    """prepare -> features -> segment -> train -> tier -> export, with no files and no tracking."""
    prepared = prepare(raw_transactions, raw_customers, cfg.data, cfg.as_of)
    datasets = build_datasets(
        index_transactions(prepared.transactions, prepared.customers),
        cfg.features,
        cfg.labels,
        cfg.as_of,
    )
    segmenter, _, profile, segment_metrics = segment_customers(
        datasets.snapshot, cfg.segment, cfg.seed
    )
    trained = train_models(
        datasets.labelled, datasets.schedule, cfg.churn, cfg.upside, cfg.seed, datasets.vocabulary
    )
    tiers = score_customers(
        datasets.snapshot,
        segmenter,
        trained.churn,
        trained.upside,
        cfg.tiering,
        cfg.labels.horizon_days,
        no_purchase=prepared.no_purchase,
    )
    models = {"churn": trained.churn, "upside": trained.upside, "segmenter": segmenter}
    inputs = report_inputs(
        cfg,
        tiers,
        trained.metrics,
        models,
        datasets.snapshot,
        profile,
        trained.plots,
        prepared.quality,
    )
    exports = export_stage(inputs, cfg, salt)
    metrics = {**trained.metrics, "segment": segment_metrics, "data_quality": prepared.quality}
    return PipelineResult(prepared, datasets, trained, tiers, exports, metrics)
