"""DVC stage `train`: walk-forward backtest of the churn and value models beside their baselines,
then the production scorers refit on every labelled cutoff (or the best baseline, when the model loses)."""

from pathlib import Path

from segml.data import io
from segml.config import load_config
from segml.app.console import console, run_stage
from segml.features.datasets import schedule_from_summary
from segml.features.build import Vocabulary
from segml.models.training import train_models
from segml.outputs.report import plot_churn, plot_deciles


def main() -> None:
    cfg = load_config()
    features, metrics = Path(cfg.paths.features_dir), Path(cfg.paths.metrics_dir)
    trained = train_models(io.read_parquet(features / "labelled.parquet"),
                           schedule_from_summary(io.read_json(metrics / "features.json")), cfg.churn, cfg.upside,
                           cfg.seed, Vocabulary(**io.read_json(features / "vocabulary.json")))
    models, plots = Path(cfg.paths.models_dir), Path(cfg.paths.plots_dir)
    for target in ("churn", "upside"):
        io.save_pickle(getattr(trained, target), models / f"{target}.pkl")
        io.write_json(trained.metrics[target], metrics / f"{target}.json")
        console.print(f"  {target}: {trained.metrics[target]['summary']['verdict_en']}; "
                      f"{trained.metrics[target]['production']['scorer_reason_en']}")
    for name, frame in trained.plots.items():
        io.write_csv(frame, plots / f"{name}.csv", encoding="utf-8")
    # static images render offline in `dvc plots show/diff` (no charting library from the web)
    io.write_bytes(plot_churn(trained.plots["calibration"], trained.plots["lift"]), plots / "churn.png")
    io.write_bytes(plot_deciles(trained.plots["deciles"]), plots / "deciles.png")


if __name__ == "__main__":
    run_stage("train", main)
