"""Stage results that more than one stage reads or writes (tier, export, record, and the
orchestrator's result), by their catalog names: all of them read and write the same entries."""

from __future__ import annotations

from segml.config import Config, ExportConfig, TieringConfig
from segml.data.catalog import Catalog
from segml.tiering.attribute_phrases import with_attribute_phrases
from segml.tiering.scoring import TierResult
from segml.tiering.usage_words import with_usage_words
from segml.tiering.value_words import with_value_words

MOVEMENT_PARTS = ("matrix", "upgrades", "downgrades", "new", "gone")
EXPORT_NAMES = {"parquet": "export_parquet", "csv": "export_csv", "xlsx": "export_xlsx"}
MODELS = {"churn": "churn_model", "upside": "upside_model", "segmenter": "segmenter"}


def reasons_tiering(cfg: Config) -> TieringConfig:
    """The tiering settings tier and export read: reasons and names for any customer attribute,
    and the export's values and usage kinds in words (`data.value_words`, `data.usage.kinds`)."""
    tiering = with_attribute_phrases(cfg.tiering, cfg.data.customer_columns)
    tiering = with_usage_words(tiering, cfg.data.usage)
    return with_value_words(tiering, cfg.data.value_words, cfg.data.customer_columns)


def write_tiers(catalog: Catalog, result: TierResult) -> None:
    """The tier stage's result but its table (written by the stage's step): summary, movement and
    metrics."""
    catalog.write("tier_summary", result.summary)
    for part in MOVEMENT_PARTS if result.movement["available"] else ():
        catalog.write(f"movement_{part}", result.movement[part])
    catalog.write_metrics("tier_metrics", result.metrics, headline(result.metrics))


# the lifecycle statuses DVC compares (the ones the churn model moves customers into): a tier's
# count depends on the policy (nine cells for value x potential), the statuses do not
HEADLINE_STATUSES = ("at_risk", "lost")


def headline(metrics: dict) -> dict:
    """The tier numbers DVC compares (README, "DVC metrics"): customers graded, how many are at
    risk or lost, and the share whose tier changed since the previous period (null: none)."""
    lifecycle = metrics.get("lifecycle", {})
    return {
        "tiers": {
            "customers": metrics.get("customers"),
            "changed_share": (metrics.get("movement") or {}).get("changed_share"),
        },
        "lifecycle": {status: lifecycle.get(status, 0) for status in HEADLINE_STATUSES},
    }


def read_tiers(catalog: Catalog) -> TierResult:
    """The tier stage's result, movement included when it had a previous period."""
    metrics = catalog.read("tier_metrics")
    movement = {"available": bool(metrics.get("movement_available"))}
    if movement["available"]:
        counts = metrics.get("movement", {})
        movement.update(
            {part: catalog.read(f"movement_{part}") for part in MOVEMENT_PARTS},
            kept_share=metrics["kept_share"],
            changed_share=counts.get("changed_share"),
            counts=counts,
            compared_with=metrics.get("compared_with"),
            previous_as_of=metrics.get("previous_as_of"),
        )
    return TierResult(catalog.read("tiers"), movement, catalog.read("tier_summary"))


def read_models(catalog: Catalog) -> dict:
    """The scorers and the segmenter, by their names in the report and in MLflow."""
    return {name: catalog.read(entry) for name, entry in MODELS.items()}


def exported_names(cfg: ExportConfig) -> list[str]:
    """The entries the export stage writes: the tier table in each configured format, the report."""
    return [EXPORT_NAMES[f] for f in cfg.formats] + (["report"] if cfg.report else [])
