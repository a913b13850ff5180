"""The train stage: walk-forward backtest of the churn and value models beside their baselines,
then the production scorers refit on every labelled cutoff (or the best baseline, when the model
loses); plot tables, and the same plots as images for `dvc plots`."""

from __future__ import annotations

import pandas as pd

from segml.config import Config
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.features.build import Vocabulary, with_vocabulary_levels
from segml.models.sampling import read_training_rows
from segml.models.training import train_models
from segml.reporting.plots import plot_churn, plot_deciles
from segml.stages.kinds import kind_of
from segml.stages.parts import BOTH, parts_of
from segml.stages.schedule import schedule_of
from segml.stages.step import Engine


def run(cfg: Config, catalog: Catalog, engine: Engine) -> None:
    """Each part's models (`data.kind: both`: subscribers' and buyers' apart, each beside its own
    baselines); for both, the project's record of the two sets."""
    done = {name: train(c, part) for name, c, part in parts_of(cfg, catalog)}
    if cfg.data.kind == BOTH:
        write_both(catalog, done)


def write_both(catalog: Catalog, done: dict) -> None:
    """The project's entries of a `both` run: each part's model set by part, the metrics' records
    by part with each part's headline, the fold scores and plot tables with their part, and the
    images of the first part (each part's own are in its folder)."""
    for target in ("churn", "upside"):
        catalog.write(f"{target}_model", {n: getattr(t, target) for n, t in done.items()})
        records = {n: t.metrics[target] for n, t in done.items()}
        lines = {f"{target}_{n}": headline(target, r)[target] for n, r in records.items()}
        catalog.write_metrics(f"{target}_metrics", {"parts": records}, lines)
    frames = {n: _fold_scores_frame(t.fold_scores).assign(part=n) for n, t in done.items()}
    catalog.write("fold_scores", pd.concat(frames.values(), ignore_index=True))
    first = next(iter(done.values()))
    for name in first.plots:
        tables = [t.plots[name].assign(part=n) for n, t in done.items()]
        catalog.write(f"{name}_plot", pd.concat(tables, ignore_index=True), bom=False)
    catalog.write("churn_image", plot_churn(first.plots["calibration"], first.plots["lift"]))
    catalog.write("deciles_image", plot_deciles(first.plots["deciles"]))


def train(cfg: Config, catalog: Catalog):
    """One kind's walk-forward backtest and production scorers (also written to the catalog)."""
    schedule = schedule_of(cfg, catalog)
    vocabulary = Vocabulary(**catalog.read("vocabulary"))

    def cutoff_rows(when):
        rows = catalog.read("labelled", filters=[(s.CUTOFF, "==", when)])
        return with_vocabulary_levels(rows, vocabulary)

    # one cutoff in memory at a time: the folds' rows, and the training pools drawn from the rest
    labelled, pools = read_training_rows(cutoff_rows, schedule, cfg.churn, cfg.upside, cfg.seed)

    kind = kind_of(cfg)

    def population():  # read only when a churn blend ranks its parts among the snapshot's
        snapshot = with_vocabulary_levels(catalog.read("snapshot"), vocabulary)
        return kind.learnt_rows(snapshot, cfg.labels)

    trained = train_models(
        labelled,
        schedule,
        cfg.churn,
        cfg.upside,
        cfg.seed,
        vocabulary,
        pools,
        population,
        kind.name,
    )
    for target in ("churn", "upside"):
        catalog.write(f"{target}_model", getattr(trained, target))
        record = trained.metrics[target]
        catalog.write_metrics(f"{target}_metrics", record, headline(target, record))
    catalog.write("fold_scores", _fold_scores_frame(trained.fold_scores))
    for name, frame in trained.plots.items():  # no BOM: dvc plots would read it into a name
        catalog.write(f"{name}_plot", frame, bom=False)
    # static images render offline in `dvc plots show/diff` (no charting library from the web)
    catalog.write("churn_image", plot_churn(trained.plots["calibration"], trained.plots["lift"]))
    catalog.write("deciles_image", plot_deciles(trained.plots["deciles"]))
    return trained


def headline(target: str, metrics: dict) -> dict:
    """The model numbers DVC compares (README, "DVC metrics"): the graded measure's backtest mean,
    its mean margin over the best baseline, and whether the model beats the baseline. The spread,
    baselines, folds and sentences stay in the details."""
    summary = metrics.get("summary", {})
    measure = summary.get("headline") or ("roc_auc" if target == "churn" else "normalized_gini")
    name = {"normalized_gini": "gini"}.get(measure, measure)
    return {
        target: {
            name: metrics.get("model", {}).get(measure),
            "margin": summary.get("margin_mean"),
            "beats_baseline": summary.get("beats_baseline"),
        }
    }


def _fold_scores_frame(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Never a frame without columns (no fold measured): the challenge reads it by column."""
    columns = ["target", s.CUTOFF, s.CUSTOMER_ID, "score"]
    return frame if frame is not None and len(frame.columns) else pd.DataFrame(columns=columns)
