"""DVC stage `segment`: KMeans segments with persona names, profile table, quality metrics."""

from pathlib import Path

from segml.data import io
from segml.config import load_config
from segml.app.console import run_stage
from segml.models.segment import segment_customers


def main() -> None:
    cfg = load_config()
    snapshot = io.read_parquet(Path(cfg.paths.features_dir) / "snapshot.parquet")
    segmenter, assigned, profile, metrics = segment_customers(snapshot, cfg.segment, cfg.seed)
    out = Path(cfg.paths.segments_dir)
    io.save_pickle(segmenter, Path(cfg.paths.models_dir) / "segmenter.pkl")
    io.write_parquet(assigned, out / "segments.parquet")
    io.write_parquet(profile, out / "profile.parquet")
    io.write_json(metrics, Path(cfg.paths.metrics_dir) / "segment.json")


if __name__ == "__main__":
    run_stage("segment", main)
