"""DVC stage `train`: churn and future-value models, measured beside baselines on a later cutoff."""

from pathlib import Path

from segml import io
from segml.config import load_config
from segml.console import run_stage
from segml.features import Vocabulary
from segml.models import train_models
from segml.report import plot_churn, plot_deciles


def main() -> None:
    cfg = load_config()
    features = Path(cfg.paths.features_dir)
    trained = train_models(io.read_parquet(features / "train.parquet"), io.read_parquet(features / "valid.parquet"),
                           cfg.churn, cfg.upside, cfg.labels.horizon_days, cfg.seed,
                           Vocabulary(**io.read_json(features / "vocabulary.json")))
    models, metrics, plots = Path(cfg.paths.models_dir), Path(cfg.paths.metrics_dir), Path(cfg.paths.plots_dir)
    io.save_pickle(trained.churn, models / "churn.pkl")
    io.save_pickle(trained.upside, models / "upside.pkl")
    io.write_json(trained.metrics["churn"], metrics / "churn.json")
    io.write_json(trained.metrics["upside"], metrics / "upside.json")
    for name, frame in trained.plots.items():
        io.write_csv(frame, plots / f"{name}.csv", encoding="utf-8")
    # static images render offline in `dvc plots show/diff` (no charting library from the web)
    io.write_bytes(plot_churn(trained.plots["calibration"], trained.plots["lift"]), plots / "churn.png")
    io.write_bytes(plot_deciles(trained.plots["deciles"]), plots / "deciles.png")


if __name__ == "__main__":
    run_stage("train", main)
