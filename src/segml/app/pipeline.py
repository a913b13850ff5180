"""The orchestrator: the stages in order, run in one process over one catalog.

`PIPELINE` is the stage graph (`dvc.yaml` runs the same stage functions, one DVC stage per
`pipelines/<stage>.py`, plus `record` after export); `run_pipeline` runs it with every artifact in
memory (sweeps, notebooks). `SCORING` is `segml score`: new data through the pipeline's own
prepare, tier, audit and export, with the registered models' snapshot step instead of features,
segment and train, and its run recorded as a period (`record.scored`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from segml.app.engine import LocalEngine
from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.validate import Prepared
from segml.features.build import Vocabulary
from segml.features.datasets import Datasets, check_history, schedule_from_summary
from segml.models.training import Trained
from segml.reporting.exports import Exports
from segml.stages import audit, export, features, prepare, record, segment, snapshot, tier, train
from segml.stages.artifacts import read_tiers
from segml.stages.export import read_plots
from segml.stages.step import Engine
from segml.tiering.scoring import TierResult

Stage = Callable[[Config, Catalog, Engine], None]

PIPELINE: tuple[Stage, ...] = (
    prepare.run,
    features.run,
    segment.run,
    train.run,
    tier.run,
    audit.run,
    export.run,
)
# what a sweep compares settings by: data quality, segments and the backtests (each setting's
# tier table, workbook and report would be made in memory and thrown away)
MEASURED: tuple[Stage, ...] = PIPELINE[:4]
# `segml score` records its run too (an accepted period: later runs compare with it and audit it)
SCORING: tuple[Stage, ...] = (
    prepare.run,
    snapshot.run,
    tier.run,
    audit.run,
    export.run,
    record.scored,
)


def stage_name(stage: Stage) -> str:
    return stage.__module__.rsplit(".", 1)[-1]


def run_stages(
    stages: Iterable[Stage],
    cfg: Config,
    catalog: Catalog,
    engine: Engine | None = None,
    status: Callable[[str], AbstractContextManager] | None = None,
) -> None:
    """Each stage in turn (`status(name)`: e.g. a spinner while it runs); the local engine unless
    another is given."""
    engine = engine or LocalEngine()
    for stage in stages:
        with (status or nullcontext)(stage_name(stage)):
            stage(cfg, catalog, engine)


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
) -> PipelineResult:
    """prepare -> features -> segment -> train -> tier -> export, with no files and no tracking."""
    catalog = _in_memory(raw_transactions, raw_customers, cfg)
    run_stages(PIPELINE, cfg, catalog)
    return pipeline_result(catalog)


def measure(
    raw_transactions: pd.DataFrame | pa.Table,
    raw_customers: pd.DataFrame | pa.Table | None,
    cfg: Config,
) -> tuple[dict, dict]:
    """prepare -> features -> segment -> train in memory: the metrics a sweep logs (models,
    segments, data quality) and the features stage's record of the schedule."""
    catalog = _in_memory(raw_transactions, raw_customers, cfg)
    run_stages(MEASURED, cfg, catalog)
    return _metrics(catalog), catalog.read("schedule")


def _in_memory(raw_transactions, raw_customers, cfg: Config) -> Catalog:
    """A catalog held in memory with the user's export in it."""
    catalog = Catalog.from_config(cfg.paths).in_memory()
    catalog.write("raw_transactions", raw_transactions)
    if raw_customers is not None:
        catalog.write("raw_customers", raw_customers)
    return catalog


def _metrics(catalog: Catalog) -> dict:
    models = {target: catalog.read(f"{target}_metrics") for target in ("churn", "upside")}
    return {
        **models,
        "segment": catalog.read("segment_metrics"),
        "data_quality": catalog.read("data_quality"),
    }


def pipeline_result(catalog: Catalog) -> PipelineResult:
    """The stages' results, from a catalog the whole pipeline ran in."""
    read = catalog.read
    quality, summary = read("data_quality"), read("schedule")
    prepared = Prepared(
        read("prepared_transactions"),
        read("prepared_customers"),
        read("rejected"),
        quality,
        read("no_purchase_customers"),
    )
    datasets = Datasets(
        read("labelled"),
        read("snapshot"),
        Vocabulary(**read("vocabulary")),
        schedule_from_summary(summary),
        summary,
    )
    model_metrics = {target: read(f"{target}_metrics") for target in ("churn", "upside")}
    trained = Trained(read("churn_model"), read("upside_model"), model_metrics, read_plots(catalog))
    tables = [n for n in ("export_parquet", "export_csv") if catalog.exists(n)]
    exports = Exports(
        read(tables[0]) if tables else None,
        catalog.read_optional("export_xlsx"),
        catalog.read_optional("report"),
    )
    return PipelineResult(
        prepared, datasets, trained, read_tiers(catalog), exports, _metrics(catalog)
    )


def score(
    cfg: Config,
    catalog: Catalog,
    allow_short_history: bool = False,
    status: Callable[[str], AbstractContextManager] | None = None,
) -> None:
    """`segml score`: `SCORING` over a catalog holding the user's export, the registered models
    (`churn_model`, `upside_model`, `segmenter`, their `vocabulary`) and their training run's
    metrics, plot tables and segment profile. Refuses (before scoring) data with less history
    than the features look back, unless allowed."""
    run_stages(SCORING[:1], cfg, catalog, status=status)
    transactions = catalog.read("prepared_transactions")
    check_history(transactions, cfg.as_of, cfg.features, allow_short_history, cfg.data)
    run_stages(SCORING[1:], cfg, catalog, status=status)
