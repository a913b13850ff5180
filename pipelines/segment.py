"""DVC stage `segment`: KMeans segments with persona names, profile table, quality metrics."""

from segml.app.console import run_stage
from segml.app.params import load_config
from segml.data.catalog import Catalog
from segml.models.segment import segment_columns, segment_customers


def main() -> None:
    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    # only the columns segmenting reads: assigning millions of customers on them takes seconds
    segmenter, assigned, profile, metrics = segment_customers(
        catalog.read_columns("snapshot", segment_columns(cfg.segment)), cfg.segment, cfg.seed
    )
    catalog.write("segmenter", segmenter)
    catalog.write("segments", assigned)
    catalog.write("segment_profile", profile)
    catalog.write("segment_metrics", metrics)


if __name__ == "__main__":
    run_stage("segment", main)
