"""The train stage: each model measured in the walk-forward backtest beside its baselines and graded
from it, then the production scorer refit on every labelled cutoff (or the best baseline, when the
model does not win).

The parts live beside this module: `scorers` (the models and rules that score), `targets` (what
differs between churn and value), `sampling` (which rows train and validate), `backtest`, `refit`;
the champion challenge of the export stage is `promotion`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from segml.config import ChurnConfig, UpsideConfig
from segml.data import schema as s
from segml.features.build import Vocabulary
from segml.features.datasets import rows_at
from segml.features.schedule import Schedule
from segml.models.backtest import fold_customers, mean_and_spread, plot_tables, walk_forward
from segml.models.baselines import best_recency_days
from segml.models.forecast import production_forecast
from segml.models.next_purchase import typical_gap_of
from segml.models.refit import refit
from segml.models.scorers import ChurnModel, RuleScorer, UpsideModel
from segml.models.targets import targets


@dataclass(frozen=True)
class Trained:
    churn: ChurnModel | RuleScorer  # the production scorers: refit model, or the best baseline
    upside: UpsideModel | RuleScorer
    metrics: dict  # {"churn": {...}, "upside": {...}}
    plots: dict[
        str, pd.DataFrame
    ]  # plot data for DVC and the report (newest fold), and the backtest
    # each backtest fold's scores of the scorer production uses, per customer (target, cutoff,
    # customer_id, score): what the champion challenge compares with the champion's
    fold_scores: pd.DataFrame | None = None


def train_models(
    labelled: pd.DataFrame,
    schedule: Schedule,
    churn_cfg: ChurnConfig,
    upside_cfg: UpsideConfig,
    seed: int,
    vocabulary: Vocabulary | None = None,
    pools: dict[str, pd.DataFrame] | None = None,
    population: Callable[[], pd.DataFrame] | None = None,
    kind: str = "transactions",
) -> Trained:
    """The train stage: walk-forward backtest of each model beside its baselines, a grade from it,
    then the production scorer refit on every labelled cutoff up to as_of.

    `pools` (from `read_training_rows`): each model's training rows, drawn already; `labelled`
    then needs only the backtest folds' rows in full. `population`: the snapshot's customers the
    models learn about (`datasets.active_rows`), read only if a churn blend scores (it ranks its
    parts' scores among them). `kind`: `data.kind`, whose targets and baselines these are."""
    fold_rows = fold_customers(labelled)
    # whether the data can train a model is a question of ids and labels alone: no copy of features
    id_and_labels = labelled[[s.CUSTOMER_ID, s.CUTOFF, s.CHURNED, s.FUTURE_VALUE]]
    metrics, producers, backtests, forecast_rows, fold_scores = {}, {}, [], [], []
    pools = dict(pools or {})
    for target in targets(churn_cfg, upside_cfg, schedule.horizon_days, kind):
        # ruled out by labels.sufficiency (the features stage), or nothing to learn from
        ruled_out = schedule.not_trained.get(target.name)
        reason = target.cannot_learn(rows_at(id_and_labels, schedule.production))
        if ruled_out or reason:  # score with the rule that needs no labels, and say so
            en, zh = (ruled_out["en"], ruled_out["zh"]) if ruled_out else (reason, None)
            producers[target.name], summary, production = target.untrained(en, vocabulary, zh)
            producers[target.name].typical_repeat_gap_ = typical_gap_of(
                rows_at(labelled, schedule.production)
            )
            metrics[target.name] = {
                "spread": {},
                "folds": {},
                "summary": summary,
                "production": production,
            }
            continue
        # every fit learns from this pool: at most max_rows_per_cutoff customers per cutoff, drawn
        # once (validation keeps every customer of its cutoff)
        if target.name not in pools:
            pools[target.name] = target.sample(labelled, seed)
        pool = pools[target.name]
        backtest = walk_forward(target, schedule, pool, fold_rows, vocabulary, seed)
        sample = rows_at(pool, schedule.production)
        producers[target.name], production = refit(
            target,
            sample,
            backtest.folds,
            backtest.summary,
            vocabulary,
            seed,
            population,
        )
        # what production forecasts beyond a ranking, measured with the scorer it uses
        producers[target.name], extra, rows = production_forecast(
            target.name, producers[target.name], backtest, sample, schedule, upside_cfg
        )
        forecast_rows += rows
        metrics[target.name] = {
            **mean_and_spread(backtest.folds),
            "folds": backtest.folds,
            "summary": backtest.summary,
            "production": production,
            **extra,
        }
        backtests.append(backtest)
        fold_scores.append(backtest.fold_scores(production["scorer"]))
    for producer in producers.values():  # what it predicts travels with it (`trained_horizon`)
        producer.horizon_days_ = schedule.horizon_days
    if "baseline_recency" in metrics["churn"] and schedule.folds:
        fold_train = rows_at(pools["churn"], schedule.training_for(schedule.folds[-1]))
        metrics["churn"]["baseline_recency"]["best_n_days"] = best_recency_days(fold_train)
    scores = pd.concat(fold_scores, ignore_index=True) if fold_scores else pd.DataFrame()
    plots = plot_tables(backtests, forecast_rows)
    return Trained(producers["churn"], producers["upside"], metrics, plots, scores)
