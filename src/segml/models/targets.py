"""What differs between the churn and the value model when they are trained and measured: the
label, the estimator and its settings, the baselines, the metrics, and whether the data can train
it at all (and what scores instead when it cannot)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from segml.config import ChurnConfig, UpsideConfig
from segml.data import schema as s
from segml.models import evaluation as ev
from segml.models.baselines import (
    CHURN_BASELINES,
    DECREASING,
    SUBSCRIBER_CHURN_BASELINES,
    ContractTenureRule,
    RunRate,
    SbgScorer,
    subscriber_value_baselines,
    value_baselines,
)
from segml.models.sampling import labels, sample_per_cutoff
from segml.models.scorers import ChurnBlend, ChurnModel, RuleScorer, UpsideModel, ValueBlend

MIN_CUSTOMERS = 20  # a model needs some to learn from and some held out to stop and calibrate on
UNTRAINED_ZH = {
    "no labelled customers": "没有可用于训练的客户",
    f"fewer than {MIN_CUSTOMERS} labelled customers": f"可用于训练的客户少于{MIN_CUSTOMERS}个",
    "every labelled customer churned": "所有客户均已流失",
    "no labelled customer churned": "没有客户流失",
    "no labelled customer spent in the window after a cutoff": "观察期后没有客户消费",
}


@dataclass(frozen=True)
class Target:
    """What differs between the churn and the value model in the backtest and the refit."""

    name: str
    cfg: ChurnConfig | UpsideConfig
    headline: str
    baselines: dict[str, str]  # name -> the feature it reads (a RuleScorer unless in `scorers`)
    calibrate_baselines: bool
    # baselines that are scorers of their own (name -> an unfitted one), and the scorer that needs
    # no labels for when the data cannot train (None: BG/NBD for churn, last period for value)
    scorers: dict[str, Callable] = field(default_factory=dict)
    fallback: Callable | None = None

    def labels(self, frame: pd.DataFrame) -> np.ndarray:
        return labels(self.name, frame)

    def model(self, seed: int, n_estimators: int | None = None) -> ChurnModel | UpsideModel:
        c = self.cfg
        fixed = n_estimators is not None  # the production refit: rounds found in the backtest
        common = dict(
            params=dict(c.params),
            n_estimators=n_estimators if fixed else c.n_estimators,
            early_stopping_rounds=None if fixed else c.early_stopping_rounds,
            holdout_share=c.holdout_share,
            monotone=dict(c.monotone),
            random_state=seed,
        )
        return (
            ChurnModel(calibration=c.calibration, **common)
            if self.name == "churn"
            else UpsideModel(**common)
        )

    def cannot_learn(self, frame: pd.DataFrame) -> str | None:
        """Why these labelled rows cannot train or measure this model (None: they can)."""
        if frame.empty:
            return "no labelled customers"
        if frame[s.CUSTOMER_ID].nunique() < MIN_CUSTOMERS:
            return f"fewer than {MIN_CUSTOMERS} labelled customers"
        y = self.labels(frame)
        if self.name == "churn" and len(np.unique(y)) < 2:
            return (
                "every labelled customer churned"
                if y.mean() > 0
                else "no labelled customer churned"
            )
        if self.name == "upside" and y.sum() <= 0:
            return "no labelled customer spent in the window after a cutoff"
        return None

    def untrained(
        self, reason: str, vocabulary, reason_zh: str | None = None
    ) -> tuple[RuleScorer, dict, dict]:
        """A model the data cannot support: the rule that needs no labels scores instead (BG/NBD's
        probability of no purchase for churn, last period's spend for value), and says why (in
        Chinese `reason_zh`, else the known words for `reason`)."""
        zh_reason = reason_zh or UNTRAINED_ZH.get(reason, reason)
        if self.fallback is not None:
            rule = self.fallback()
            name, rule.reference_ = rule.name, 0.0
        else:
            name, feature = (
                ("baseline_bgnbd", "bgnbd_p_no_purchase")
                if self.name == "churn"
                else ("baseline_last_period", self.baselines["baseline_last_period"])
            )
            rule = RuleScorer(feature, name, calibrate=False)
            rule.features_ = [feature]
        rule.vocabulary_, rule.trained_columns_ = vocabulary, list(rule.features_)
        rule.scorer_ = name
        en, zh = ev.SCORER_NAMES.get(name, (name, name))
        summary = {
            "grade": "C",
            "headline": self.headline,
            "best_baseline": name,
            "folds": 0,
            "margins": [],
            "margin_mean": float("nan"),
            "margin_spread": float("nan"),
            "beats_baseline": False,
            "finding": "not trained",
            "verdict_en": f"C: not trained: {reason}",
            "verdict_zh": f"C：未训练（{zh_reason}）",
        }
        production = {
            "scorer": name,
            "scorer_en": en,
            "scorer_zh": zh,
            "training_cutoffs": [],
            "train_rows": 0,
            "scorer_reason_en": f"scored with {en}: the model was not trained ({reason})",
            "scorer_reason_zh": f"使用{zh}评分：模型未训练（{zh_reason}）",
        }
        return rule, summary, production

    def sample(self, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        return sample_per_cutoff(frame, self.cfg.max_rows_per_cutoff, self.labels(frame) > 0, seed)

    def metrics(self, frame: pd.DataFrame, score: np.ndarray) -> dict:
        return self.metrics_of(self.labels(frame), score)

    def metrics_of(self, y: np.ndarray, score: np.ndarray) -> dict:
        return ev.churn_metrics(y, score) if self.name == "churn" else ev.value_metrics(y, score)

    def rules(self, train: pd.DataFrame, vocabulary) -> dict[str, RuleScorer]:
        y = self.labels(train)
        return {
            name: (
                self.scorers[name]()
                if name in self.scorers
                else RuleScorer(
                    feature, name, self.calibrate_baselines, increasing=name not in DECREASING
                )
            ).fit(train, y, vocabulary)
            for name, feature in self.baselines.items()
            if feature in train
        }

    @property
    def blends(self) -> bool:
        """Whether the blend is a candidate (`blend: auto`, or forced by `scorer: blend`)."""
        return self.cfg.blend == "auto" or self.cfg.scorer == "blend"

    def blend(self, model, rule: RuleScorer, held: pd.DataFrame) -> ChurnBlend | ValueBlend:
        """The blend of `model` and `rule`, fitted on `held`: customers the model did not learn from."""
        kind = ChurnBlend if self.name == "churn" else ValueBlend
        return kind(model, rule).fit(held, self.labels(held))


def targets(
    churn_cfg: ChurnConfig,
    upside_cfg: UpsideConfig,
    horizon_days: int,
    kind: str = "transactions",
) -> list[Target]:
    """The churn model, then the value model, of this kind of data (`data.kind`)."""
    return TARGETS[kind](churn_cfg, upside_cfg, horizon_days)


def transaction_targets(
    churn_cfg: ChurnConfig, upside_cfg: UpsideConfig, horizon_days: int
) -> list[Target]:
    """Against the recency rule and BG/NBD; last period's spend and BG/NBD x Gamma-Gamma."""
    return [
        Target("churn", churn_cfg, ev.TARGET_HEADLINE["churn"], CHURN_BASELINES, True),
        Target(
            "upside",
            upside_cfg,
            ev.TARGET_HEADLINE["upside"],
            value_baselines(horizon_days),
            False,
        ),
    ]


def subscriber_targets(
    churn_cfg: ChurnConfig, upside_cfg: UpsideConfig, horizon_days: int
) -> list[Target]:
    """Observed churn against the contract x tenure rule and the shifted-beta-geometric model
    (which, with its prior, also scores when the data cannot train); recurring revenue in the
    window against the run rate (the fallback) and the last H days' revenue."""
    return [
        Target(
            "churn",
            churn_cfg,
            ev.TARGET_HEADLINE["churn"],
            SUBSCRIBER_CHURN_BASELINES,
            True,
            {
                "baseline_contract_tenure": ContractTenureRule,
                "baseline_survival": partial(SbgScorer, horizon_days),
            },
            partial(SbgScorer, horizon_days),
        ),
        Target(
            "upside",
            upside_cfg,
            ev.TARGET_HEADLINE["upside"],
            subscriber_value_baselines(horizon_days),
            False,
            {"baseline_run_rate": partial(RunRate, horizon_days)},
            partial(RunRate, horizon_days),
        ),
    ]


TARGETS = {"transactions": transaction_targets, "subscriptions": subscriber_targets}
