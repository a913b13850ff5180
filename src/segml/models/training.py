"""The train stage: each model measured in the walk-forward backtest beside its baselines and graded
from it, then the production scorer refit on every labelled cutoff (or the best baseline, when the
model does not win).

The parts live beside this module: `scorers` (the models and rules that score), `targets` (what
differs between churn and value), `sampling` (which rows train and validate), `backtest`, `refit`;
the champion challenge of the export stage is `promotion`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from segml.config import ChurnConfig, UpsideConfig
from segml.data import schema as s
from segml.features.build import Vocabulary
from segml.features.schedule import Schedule
from segml.models.backtest import fold_customers, mean_and_spread, plot_tables, walk_forward
from segml.models.baselines import best_recency_days
from segml.models.refit import refit
from segml.models.sampling import rows_at
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


def train_models(
    labelled: pd.DataFrame,
    schedule: Schedule,
    churn_cfg: ChurnConfig,
    upside_cfg: UpsideConfig,
    seed: int,
    vocabulary: Vocabulary | None = None,
    pools: dict[str, pd.DataFrame] | None = None,
) -> Trained:
    """The train stage: walk-forward backtest of each model beside its baselines, a grade from it,
    then the production scorer refit on every labelled cutoff up to as_of.

    `pools` (from `read_training_rows`): each model's training rows, drawn already; `labelled`
    then needs only the backtest folds' rows in full."""
    fold_rows = fold_customers(labelled)
    # whether the data can train a model is a question of ids and labels alone: no copy of features
    id_and_labels = labelled[[s.CUSTOMER_ID, s.CUTOFF, s.CHURNED, s.FUTURE_VALUE]]
    metrics, producers, backtests = {}, {}, []
    pools = dict(pools or {})
    for target in targets(churn_cfg, upside_cfg, schedule.horizon_days):
        reason = target.cannot_learn(rows_at(id_and_labels, schedule.production))
        if reason:  # nothing to learn from: score with the rule that needs no labels, and say so
            producers[target.name], summary, production = target.untrained(reason, vocabulary)
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
        producers[target.name], production = refit(
            target,
            rows_at(pool, schedule.production),
            backtest.folds,
            backtest.summary,
            vocabulary,
            seed,
        )
        metrics[target.name] = {
            **mean_and_spread(backtest.folds),
            "folds": backtest.folds,
            "summary": backtest.summary,
            "production": production,
        }
        backtests.append(backtest)
    for producer in producers.values():  # what it predicts travels with it (`trained_horizon`)
        producer.horizon_days_ = schedule.horizon_days
    if "baseline_recency" in metrics["churn"] and schedule.folds:
        fold_train = rows_at(pools["churn"], schedule.training_for(schedule.folds[-1]))
        metrics["churn"]["baseline_recency"]["best_n_days"] = best_recency_days(fold_train)
    return Trained(producers["churn"], producers["upside"], metrics, plot_tables(backtests))
