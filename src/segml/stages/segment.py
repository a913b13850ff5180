"""The segment stage: KMeans segments with persona names, profile table, quality metrics."""

from __future__ import annotations

from segml.config import Config
from segml.data.attributes import customer_attributes
from segml.data.catalog import Catalog
from segml.features.build import Vocabulary
from segml.models.segment import segment_columns, segment_customers
from segml.stages.kinds import kind_of
from segml.stages.parts import BOTH, parts_of
from segml.stages.step import Engine


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    """Each part's segments (`data.kind: both`: subscribers' and buyers' apart, each on its kind's
    segment features); for both, the project's record of the two."""
    done = {name: segment(c, part) for name, c, part in parts_of(cfg, catalog)}
    if cfg.data.kind == BOTH:
        catalog.write("segmenter", {name: found[0] for name, found in done.items()})
        records = {name: found[1] for name, found in done.items()}
        catalog.write_metrics("segment_metrics", {"parts": records}, both_headline(records))


def segment(cfg: Config, catalog: Catalog):
    """One kind's segments: the segmenter and its metrics (also written to the catalog)."""
    # the kind's segment features (data.kind: subscribers' are not RFM)
    vocabulary = Vocabulary(**catalog.read("vocabulary"))
    settings = kind_of(cfg).segments(cfg.segment, vocabulary, cfg.features)
    # only the columns segmenting reads: assigning millions of customers on them takes seconds
    # typed customer attributes are profiled too (a mean, or for a yes/no the share of yes)
    typed = customer_attributes(cfg.data.customer_columns)
    attributes = {
        a.feature: "share" if a.type == "yes_no" else "mean"
        for a in typed
        if a.type in ("number", "yes_no", "date")
    }
    columns = [*segment_columns(settings), *attributes]
    segmenter, assigned, profile, metrics = segment_customers(
        catalog.read_columns("snapshot", columns), settings, cfg.seed, attributes
    )
    catalog.write("segmenter", segmenter)
    catalog.write("segments", assigned)
    catalog.write("segment_profile", profile)
    catalog.write_metrics("segment_metrics", metrics, headline(metrics))
    return segmenter, metrics


def headline(metrics: dict) -> dict:
    """The segment numbers DVC compares (README, "DVC metrics"): how many, how well separated,
    how stable across seeds."""
    keys = {"k": "k", "silhouette": "silhouette", "stability": "stability_ari"}
    return {"segments": {name: metrics.get(key) for name, key in keys.items()}}


def both_headline(records: dict[str, dict]) -> dict:
    """Each part's headline under `segments_<part>` (three numbers each)."""
    return {f"segments_{name}": headline(r)["segments"] for name, r in records.items()}
