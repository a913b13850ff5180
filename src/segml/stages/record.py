"""The record stage (the DVC pipeline's last step, after export): the run in MLflow, with its
params, every stage's metrics, the models (registered, and promoted when they beat the champion
on this run's backtest folds) and the logged tables and files."""

from __future__ import annotations

from pathlib import Path

from segml.config import Config, export_salt
from segml.data import io
from segml.data.catalog import Catalog
from segml.data.provenance import file_digest
from segml.data.schema import CUTOFF
from segml.features.schedule import Schedule
from segml.models.promotion import Champion, challenge, fair_cutoffs
from segml.reporting import run_history, run_logger
from segml.reporting.exports import Exports, export_table
from segml.stages.artifacts import exported_names, read_models
from segml.stages.parts import BOTH, first_part, parts_of
from segml.stages.schedule import schedule_of
from segml.stages.step import Engine

STAGE_METRICS = {
    "data_quality": "data_quality",
    "segment": "segment_metrics",
    "churn": "churn_metrics",
    "upside": "upside_metrics",
    "tiers": "tier_metrics",
    "audit": "audit_metrics",
}
# what a `segml score` run has of them (no training)
SCORED_METRICS = {"data_quality": "data_quality", "tiers": "tier_metrics", "audit": "audit_metrics"}


def promotion(
    cfg: Config,
    catalog: Catalog,
    metrics: dict,
    schedule: Schedule,
    as_of: str,
    part: str | None = None,
) -> tuple[bool, str]:
    """Whether this run's models may replace the champion: both sets are scored on this run's
    backtest folds that neither has learnt from (only their rows are read). `part` (a both
    project): that part's set against that part's champion, on that part's folds (`catalog`
    the part's view)."""
    model_metrics = {k: metrics[k] for k in ("churn", "upside")}
    champion = _champion(cfg, model_metrics, part)
    fair = fair_cutoffs(model_metrics, champion.as_of) if champion else []
    return challenge(
        champion,
        catalog.read("labelled", filters=[(CUTOFF, "in", fair)]) if fair else None,
        catalog.read("fold_scores") if fair else None,
        schedule,
        model_metrics,
        as_of,
    )


def _champion(cfg: Config, model_metrics: dict, part: str | None) -> Champion | None:
    """The champion set as the challenge needs it. Its models are downloaded and unpickled only
    when this run has a fold they can be measured on (usually not the month after they were
    trained); the record (labels' end, churn window) decides the rest."""
    record = run_history.model_set(cfg.tracking.uri, part=part)
    if record is None:
        return None
    if record.horizon_days and not fair_cutoffs(model_metrics, record.as_of):
        return Champion({}, record.as_of, record.horizon_days)
    found = run_history.with_models(record, cfg.tracking.uri, cfg.paths.in_mlflow_run, part=part)
    return Champion(found.models, found.as_of, found.horizon_days)


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    salt = export_salt(cfg.export)
    schedule = schedule_of(*first_part(cfg, catalog))  # before anything is read or logged
    metrics = {key: catalog.read(name) for key, name in STAGE_METRICS.items()}
    as_of = str(catalog.read("schedule")["as_of"])
    if cfg.data.kind == BOTH:  # each part's set, named by its part, challenges its champion
        models, examples = both_models(cfg, catalog)
        promote = part_promotions(cfg, catalog, as_of)
    else:
        promote = promotion(cfg, catalog, metrics, schedule, as_of)
        models, examples = read_models(catalog), catalog.read_head("snapshot", 5)
    io.release_arrow_memory()  # the folds' rows are gone before the tier table is read
    tiers = catalog.read("tiers")
    run = run_logger.record_pipeline_run(
        cfg,
        catalog,
        Exports(export_table(tiers, cfg.export, salt), None, None),
        tiers,
        metrics,
        models,
        examples,  # the models' input examples: the snapshot's first rows
        salt,
        exported_names(cfg.export),
        promote,
    )
    catalog.write("mlflow_run", run)


def part_promotions(cfg: Config, catalog: Catalog, as_of: str) -> dict[str, tuple[bool, str]]:
    """A both project's challenge, part by part: each part's set against that part's champion
    on the customers of its own backtest folds; the decision per part (by its name)."""
    decisions = {}
    for part, part_cfg, entries in parts_of(cfg, catalog):
        metrics = {k: entries.read(f"{k}_metrics") for k in ("churn", "upside")}
        schedule = schedule_of(part_cfg, entries)
        decisions[part] = promotion(cfg, entries, metrics, schedule, as_of, part)
        io.release_arrow_memory()
    return decisions


def both_models(cfg: Config, catalog: Catalog) -> tuple[dict, dict]:
    """Every part's models named `<part>_<model>`, and each one's input example (its part's)."""
    models, examples = {}, {}
    for part, _, entries in parts_of(cfg, catalog):
        head = entries.read_head("snapshot", 5)
        for name, model in read_models(entries).items():
            models[f"{part}_{name}"], examples[f"{part}_{name}"] = model, head
    return models, examples


def scored(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    """`segml score`'s run in MLflow: an accepted period of the scored export, naming the
    registered model set it scored with (no models logged, none promoted)."""
    salt = export_salt(cfg.export)
    tiers = catalog.read("tiers")
    sources = [cfg.paths.raw_transactions, cfg.paths.raw_customers]
    run = run_logger.record_scoring_run(
        cfg,
        tiers,
        export_table(tiers, cfg.export, salt),
        {key: catalog.read(name) for key, name in SCORED_METRICS.items()},
        salt,
        catalog.read_optional("model_set"),
        file_digest(*[p for p in sources if p and Path(p).exists()]),
    )
    catalog.write("mlflow_run", run)
