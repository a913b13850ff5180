"""The train stage: walk-forward backtest of the churn and value models beside their baselines,
then the production scorers refit on every labelled cutoff (or the best baseline, when the model
loses); plot tables, and the same plots as images for `dvc plots`."""

from __future__ import annotations

from segml.config import Config
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.features.build import Vocabulary, with_vocabulary_levels
from segml.models.sampling import read_training_rows
from segml.models.training import train_models
from segml.reporting.plots import plot_churn, plot_deciles
from segml.stages.schedule import schedule_of
from segml.stages.step import Engine


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    schedule = schedule_of(cfg, catalog)
    vocabulary = Vocabulary(**catalog.read("vocabulary"))

    def cutoff_rows(when):
        rows = catalog.read("labelled", filters=[(s.CUTOFF, "==", when)])
        return with_vocabulary_levels(rows, vocabulary)

    # one cutoff in memory at a time: the folds' rows, and the training pools drawn from the rest
    labelled, pools = read_training_rows(cutoff_rows, schedule, cfg.churn, cfg.upside, cfg.seed)
    trained = train_models(labelled, schedule, cfg.churn, cfg.upside, cfg.seed, vocabulary, pools)
    for target in ("churn", "upside"):
        catalog.write(f"{target}_model", getattr(trained, target))
        catalog.write(f"{target}_metrics", trained.metrics[target])
    for name, frame in trained.plots.items():  # no BOM: dvc plots would read it into a name
        catalog.write(f"{name}_plot", frame, bom=False)
    # static images render offline in `dvc plots show/diff` (no charting library from the web)
    catalog.write("churn_image", plot_churn(trained.plots["calibration"], trained.plots["lift"]))
    catalog.write("deciles_image", plot_deciles(trained.plots["deciles"]))
