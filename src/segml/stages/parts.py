"""The parts of a project with both exports (`data.kind: both`): one kind's population each
(`segml.data.parts.PARTS`), graded by that kind's own stage bodies with a part view of the
config (`data.kind` set to the part) and of the catalog (the kind-specific entries below live in a
sub-folder named after the part, beside where conf/paths puts them; raw and prepared tables,
rejected rows and data quality are shared). A project of one kind has one part: itself, with the
config and catalog as they are, so its files never move."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.parts import PARTS, part_config

BOTH = "both"
# what each part has of its own: features, segments, models, their metrics and plots, tiers
PART_ENTRIES = (
    "labelled",
    "snapshot",
    "vocabulary",
    "schedule",
    "segmenter",
    "segments",
    "segment_profile",
    "segment_metrics",
    "fold_scores",
    "churn_model",
    "upside_model",
    "churn_metrics",
    "upside_metrics",
    "calibration_plot",
    "deciles_plot",
    "lift_plot",
    "backtest_plot",
    "churn_image",
    "deciles_image",
    "tiers",
    "tier_summary",
)


def part_catalog(catalog: Catalog, name: str) -> Catalog:
    """One part's view of a `both` project's catalog."""
    return catalog.part(name, PART_ENTRIES)


def parts_of(cfg: Config, catalog: Catalog) -> Iterator[tuple[str, Config, Catalog]]:
    """The project's parts (name, config, catalog): both kinds' for `data.kind: both`, else the
    project itself as it is."""
    if cfg.data.kind != BOTH:
        yield cfg.data.kind, cfg, catalog
        return
    for name in PARTS:
        yield name, part_config(cfg, name), part_catalog(catalog, name)


def first_part(cfg: Config, catalog: Catalog) -> tuple[Config, Catalog]:
    """The config and catalog of the project's first part (the project itself for one kind): its
    schedule record holds the churn window every part was built with."""
    _, part_cfg, part = next(parts_of(cfg, catalog))
    return part_cfg, part


def read_parts(cfg: Config, catalog: Catalog, name: str, **options) -> pd.DataFrame:
    """Entry `name` of every part, one after the other (a table of one kind: as it is)."""
    frames = [part.read(name, **options) for _, _, part in parts_of(cfg, catalog)]
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
