"""Churn and future-value (upside) models, the baseline rules they must beat, and the train stage.

Both models are LightGBM. The train stage measures them in a walk-forward backtest beside the
baselines (each fold early-stopped on customers held out of its training cutoffs, validated on a
later cutoff no training label window overlaps), grades them from that, then refits the production
scorers on every labelled cutoff, or scores with the best baseline when the model does not win.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from segml.config import ChurnConfig, UpsideConfig
from segml.data import schema as s
from segml.errors import FeatureMismatchError
from segml.features.build import Vocabulary, feature_columns, over_levels
from segml.features.schedule import Schedule
from segml.features.transactions import to_date
from segml.machine import cores
from segml.models import evaluation as ev


def check_columns(model, expected: list[str], frame: pd.DataFrame) -> None:
    """Refuse data built with other feature settings than the model was trained on."""
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        extra = [c for c in feature_columns(frame) if c not in expected]
        raise FeatureMismatchError(
            f"{type(model).__name__} expects columns missing from the data: {missing}"
            + (f"; the data has columns the model does not know: {extra}" if extra else "")
            + ". Score data with the same feature settings (conf/features) the model was trained with."
        )


def check_scorers(frame: pd.DataFrame, *scorers) -> None:
    """Refuse to score data built with other feature settings than any of the scorers saw."""
    for scorer in scorers:
        check_columns(scorer, getattr(scorer, "trained_columns_", scorer.features_), frame)


def _holdout_mask(customer_ids: pd.Series, share: float, seed: int) -> np.ndarray:
    """Hold out whole customers (all their cutoffs), so the holdout never leaks into training."""
    codes, unique = pd.factorize(customer_ids, sort=True)  # codes index the sorted ids
    if (codes < 0).any():  # features give every row an id; a missing one is a bug upstream
        raise ValueError("training rows without a customer id: cannot hold customers out")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(unique), dtype=bool)
    held[rng.choice(len(unique), size=max(1, int(len(unique) * share)), replace=False)] = True
    return held[codes]


class _LightGBMModel:
    """Shared by both models: the exact training columns and category levels, monotone business
    directions, early stopping on held-out customers, SHAP contributions."""

    objective = "regression"

    def __init__(
        self,
        params: dict | None = None,
        n_estimators: int = 2000,
        early_stopping_rounds: int | None = 100,
        holdout_share: float = 0.2,
        monotone: dict | None = None,
        random_state: int = 42,
    ):
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.holdout_share = holdout_share
        self.monotone = monotone
        self.random_state = random_state

    uses_holdout = False  # besides early stopping (churn: to calibrate)

    def _boost(
        self, estimator, train: pd.DataFrame, y: np.ndarray, vocabulary
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit, early-stopped on held-out customers when `early_stopping_rounds` is set (else exactly
        `n_estimators` rounds); returns the held-out rows (for calibration)."""
        self._remember_features(train, vocabulary)
        stops = bool(self.early_stopping_rounds)
        held = (
            _holdout_mask(train[s.CUSTOMER_ID], self.holdout_share, self.random_state)
            if stops or self.uses_holdout
            else np.zeros(len(train), bool)
        )
        X = self.matrix(train)
        model = estimator(
            n_estimators=self.n_estimators,
            **self._lgb_params(
                {"objective": self.objective, **(self.params or {})}, self.random_state
            ),
        )
        if stops:
            model.fit(
                X[~held],
                y[~held],
                eval_X=(X[held],),
                eval_y=(y[held],),
                callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
            )
        else:
            model.fit(X[~held], y[~held])
        self.booster_ = model.booster_
        self.best_iteration_ = (
            int(model.best_iteration_ or self.n_estimators) if stops else self.n_estimators
        )
        return X[held], y[held]

    def _remember_features(self, frame: pd.DataFrame, vocabulary) -> None:
        # the vocabulary lets `segml score` rebuild exactly these columns from new transactions
        self.vocabulary_ = vocabulary
        self.features_ = feature_columns(frame)
        self.categories_ = {
            c: list(frame[c].cat.categories)
            for c in self.features_
            if isinstance(frame[c].dtype, pd.CategoricalDtype)
        }

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns in training order; categories cast to the training levels."""
        check_columns(self, self.features_, frame)
        X = frame[self.features_].copy()
        for column, levels in self.categories_.items():
            X[column] = over_levels(X[column], levels)
        return X

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature SHAP contributions (TreeSHAP, computed by LightGBM itself), raw score units."""
        values = self.booster_.predict(
            self.matrix(frame), num_iteration=self.best_iteration_, pred_contrib=True
        )
        return pd.DataFrame(values[:, :-1], columns=self.features_, index=frame.index)

    def _lgb_params(self, params: dict, seed: int) -> dict:
        constraints = [0] * len(self.features_)
        for pattern, sign in (
            self.monotone or {}
        ).items():  # business direction, enforced by the trees
            for j, feature in enumerate(self.features_):
                if re.fullmatch(pattern, feature):
                    constraints[j] = int(sign)
        return {
            "verbose": -1,
            "random_state": seed,
            "deterministic": True,
            "force_row_wise": True,
            "n_jobs": cores(),
            "monotone_constraints": constraints,
            **params,
        }


class ChurnModel(_LightGBMModel):
    """P(no purchase in the next H days), calibrated on held-out customers when that helps."""

    objective = "binary"

    def __init__(
        self,
        params: dict | None = None,
        n_estimators: int = 2000,
        early_stopping_rounds: int | None = 100,
        holdout_share: float = 0.2,
        calibration: str = "auto",
        monotone: dict | None = None,
        random_state: int = 42,
    ):
        super().__init__(
            params, n_estimators, early_stopping_rounds, holdout_share, monotone, random_state
        )
        self.calibration = calibration

    @property
    def uses_holdout(self) -> bool:
        return self.calibration != "none"

    def fit(self, train: pd.DataFrame, vocabulary: Vocabulary | None = None) -> ChurnModel:
        X_held, y_held = self._boost(
            lgb.LGBMClassifier, train, train[s.CHURNED].to_numpy(), vocabulary
        )
        self.calibrator_ = self._choose_calibrator(self._raw_proba(X_held), y_held)
        return self

    def _raw_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(X, num_iteration=self.best_iteration_)

    @staticmethod
    def _make_calibrator(kind: str):
        if kind == "isotonic":
            return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        return _Platt()

    def _choose_calibrator(self, raw: np.ndarray, y: np.ndarray):
        kind = self.calibration
        if kind == "none" or len(np.unique(y)) < 2:
            self.calibration_used_ = "none"
            return None
        if (
            kind == "auto"
        ):  # keep isotonic only if it lowers Brier out of sample (two-fold on the holdout)
            half = np.arange(len(y)) % 2 == 0
            before, after = 0.0, 0.0
            for fit_part in (half, ~half):
                cal = self._make_calibrator("isotonic").fit(raw[fit_part], y[fit_part])
                before += brier_score_loss(y[~fit_part], raw[~fit_part])
                after += brier_score_loss(y[~fit_part], cal.predict(raw[~fit_part]))
            kind = "isotonic" if after < before else "none"
        self.calibration_used_ = kind
        return None if kind == "none" else self._make_calibrator(kind).fit(raw, y)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probability per row."""
        raw = self._raw_proba(self.matrix(frame))
        return raw if self.calibrator_ is None else np.clip(self.calibrator_.predict(raw), 0, 1)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict_proba(frame)


class _Platt:
    """Sigmoid calibration on the log-odds of the raw probability."""

    def fit(self, p, y):
        self.lr_ = LogisticRegression().fit(_logit(p)[:, None], y)
        return self

    def predict(self, p):
        return self.lr_.predict_proba(_logit(p)[:, None])[:, 1]


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


class UpsideModel(_LightGBMModel):
    """Expected net spend in the next H days (Tweedie objective: zero-inflated, heavy-tailed)."""

    objective = "tweedie"

    def fit(self, train: pd.DataFrame, vocabulary: Vocabulary | None = None) -> UpsideModel:
        # net refunds can push a window below zero; spend cannot be negative for Tweedie
        y = np.clip(train[s.FUTURE_VALUE].to_numpy(dtype=float), 0, None)
        self._boost(lgb.LGBMRegressor, train, y, vocabulary)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.booster_.predict(self.matrix(frame), num_iteration=self.best_iteration_)


class RuleScorer:
    """A baseline rule used as a scorer: a monotone step function of one feature fitted to the label
    (so a churn rule gives a calibrated probability), or the feature itself when it is already in
    the label's units (spend). Same interface as the LightGBM models, so it can score in production."""

    def __init__(self, feature: str, name: str, calibrate: bool = True):
        self.feature = feature
        self.name = name
        self.calibrate = calibrate

    def fit(
        self, frame: pd.DataFrame, y: np.ndarray | None = None, vocabulary: Vocabulary | None = None
    ) -> RuleScorer:
        self.features_ = [self.feature]
        self.vocabulary_ = vocabulary
        # the rule reads one column, but scoring data built with other settings is still refused
        # (`check_scorers`)
        self.trained_columns_ = feature_columns(frame)
        if self.calibrate:
            x = frame[self.feature].to_numpy(float)
            self.iso_ = IsotonicRegression(
                increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0
            ).fit(x, y)
        # contributions are measured from the training average, so a customer's reason does not
        # depend on who else is scored with them (subsets, partitions)
        self.reference_ = float(np.mean(self.predict(frame))) if len(frame) else 0.0
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = frame[self.feature].to_numpy(float)
        if not self.calibrate:
            return np.clip(np.nan_to_num(x), 0, None)
        # a tiny tie-break keeps the feature's own ranking inside the flat steps
        return np.clip(self.iso_.predict(x) + x * 1e-9, 0, 1)

    predict_proba = predict

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rule's one driver: how far this customer's score is from the training average."""
        score = self.predict(frame)
        reference = getattr(self, "reference_", None)  # rules pickled before it: today's average
        if reference is None:
            reference = score.mean()
        return pd.DataFrame({self.feature: score - reference}, index=frame.index)


MIN_CUSTOMERS = 20  # a model needs some to learn from and some held out to stop and calibrate on
EMPTY_PLOTS = {
    "calibration": ["bin", "customers", "mean_predicted", "observed_rate"],
    "lift": ["scorer", "share_contacted", "share_churners_caught"],
    "deciles": ["decile", "customers", "mean_predicted", "mean_actual"],
}
UNTRAINED_ZH = {
    "no labelled customers": "没有可用于训练的客户",
    f"fewer than {MIN_CUSTOMERS} labelled customers": f"可用于训练的客户少于{MIN_CUSTOMERS}个",
    "every labelled customer churned": "所有客户均已流失",
    "no labelled customer churned": "没有客户流失",
    "no labelled customer spent in the window after a cutoff": "观察期后没有客户消费",
}

# Baselines the models must beat: name -> (feature, calibrated to the label)
CHURN_BASELINES = {"baseline_recency": "recency_days", "baseline_bgnbd": "bgnbd_p_no_purchase"}


def value_baselines(horizon_days: int) -> dict[str, str]:
    """Last period's spend, and BG/NBD expected purchases x Gamma-Gamma expected order value."""
    return {
        "baseline_last_period": f"spend_{horizon_days}d",
        "baseline_bgnbd": "bgnbd_expected_value",
    }


def best_recency_days(train: pd.DataFrame) -> float:
    """The single "no purchase in the last N days" rule that best separates churners (Youden's J)."""
    r, y = train["recency_days"].to_numpy(float), train[s.CHURNED].to_numpy(float)
    candidates = np.unique(np.quantile(r, np.linspace(0.02, 0.98, 49)))
    tpr = np.array([(r[y == 1] > n).mean() for n in candidates])
    fpr = np.array([(r[y == 0] > n).mean() for n in candidates])
    return float(candidates[int(np.argmax(tpr - fpr))])


def sample_per_cutoff(
    frame: pd.DataFrame, max_rows: int | None, stratum: np.ndarray, seed: int
) -> pd.DataFrame:
    """At most `max_rows` customers per cutoff, drawn in proportion from each stratum (label class),
    so big data trains in bounded time on the same mix."""
    if not max_rows:
        return frame
    cutoff, _ = pd.factorize(frame[s.CUTOFF])
    if np.bincount(cutoff).max() <= max_rows:
        return frame
    u = np.random.default_rng(seed).random(len(frame))
    return frame[_drawn(cutoff, stratum, u, max_rows)].reset_index(drop=True)


def _drawn(cutoff: np.ndarray, stratum: np.ndarray, u: np.ndarray, max_rows: int) -> np.ndarray:
    """Which rows `sample_per_cutoff` keeps, given each row's cutoff code and random number."""
    counts = np.bincount(cutoff)
    strata, levels = pd.factorize(np.asarray(stratum))
    group = cutoff * len(levels) + strata
    # a random rank within (cutoff, stratum) as a share of the group; keep the share that fits
    order = np.lexsort((u, group))
    sizes = np.bincount(group)
    first = np.cumsum(sizes) - sizes
    rank = np.empty(len(u))
    rank[order] = np.arange(1, len(u) + 1) - first[group[order]]
    share = np.minimum(max_rows / counts, 1.0)[cutoff]
    return rank / sizes[group] <= share


def validation_rows(frame: pd.DataFrame, max_rows: int | None) -> pd.DataFrame:
    """At most `max_rows` of one fold's customers to measure on: those whose id hashes lowest,
    so train and export's champion challenge pick the same customers whatever the row order.
    Rows keep their order."""
    if not max_rows or len(frame) <= max_rows:
        return frame
    key = pd.util.hash_pandas_object(frame[s.CUSTOMER_ID], index=False).to_numpy()
    return frame.take(np.sort(np.argpartition(key, max_rows - 1)[:max_rows])).reset_index(drop=True)


def read_training_rows(
    read: Callable[[pd.Timestamp], pd.DataFrame],
    schedule: Schedule,
    churn_cfg: ChurnConfig,
    upside_cfg: UpsideConfig,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """What `train_models` needs of the labelled rows, reading one cutoff at a time (`read`):
    (every row of the backtest folds' cutoffs, and of the others the rows in a training pool;
    each model's training pool). The pools are the rows `sample_per_cutoff` draws from the whole
    table: the same random numbers, drawn cutoff by cutoff, in the table's row order."""
    rng = np.random.default_rng(seed)
    targets = _targets(churn_cfg, upside_cfg, schedule.horizon_days)
    kept, pools = [], {t.name: [] for t in targets}
    for day in schedule.labelled:
        frame = read(to_date(day))
        u = rng.random(len(frame))
        chosen = np.zeros(len(frame), dtype=bool)
        for target in targets:
            keep = np.ones(len(frame), dtype=bool)
            if target.cfg.max_rows_per_cutoff and len(frame):
                keep = _drawn(
                    np.zeros(len(frame), np.int64),
                    target.labels(frame) > 0,
                    u,
                    target.cfg.max_rows_per_cutoff,
                )
            pools[target.name].append(frame[keep])
            chosen |= keep
        kept.append(frame if day in schedule.folds else frame[chosen])
    return (
        pd.concat(kept, ignore_index=True),
        {name: pd.concat(frames, ignore_index=True) for name, frames in pools.items()},
    )


@dataclass(frozen=True)
class Trained:
    churn: ChurnModel | RuleScorer  # the production scorers: refit model, or the best baseline
    upside: UpsideModel | RuleScorer
    metrics: dict  # {"churn": {...}, "upside": {...}}
    plots: dict[
        str, pd.DataFrame
    ]  # plot data for DVC and the report (newest fold), and the backtest


@dataclass(frozen=True)
class _Target:
    """What differs between the churn and the value model in the backtest."""

    name: str
    cfg: ChurnConfig | UpsideConfig
    headline: str
    baselines: dict[str, str]
    calibrate_baselines: bool

    def labels(self, frame: pd.DataFrame) -> np.ndarray:
        return _labels(self.name, frame)

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

    def untrained(self, reason: str, vocabulary) -> tuple[RuleScorer, dict, dict]:
        """A model the data cannot support: the rule that needs no labels scores instead (BG/NBD's
        probability of no purchase for churn, last period's spend for value), and says why."""
        name, feature = (
            ("baseline_bgnbd", "bgnbd_p_no_purchase")
            if self.name == "churn"
            else ("baseline_last_period", self.baselines["baseline_last_period"])
        )
        rule = RuleScorer(feature, name, calibrate=False)
        rule.features_, rule.vocabulary_, rule.trained_columns_, rule.scorer_ = (
            [feature],
            vocabulary,
            [feature],
            name,
        )
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
            "verdict_zh": f"C：未训练（{UNTRAINED_ZH.get(reason, reason)}）",
        }
        production = {
            "scorer": name,
            "scorer_en": en,
            "scorer_zh": zh,
            "training_cutoffs": [],
            "train_rows": 0,
            "scorer_reason_en": f"scored with {en}: the model was not trained ({reason})",
            "scorer_reason_zh": f"使用{zh}评分：模型未训练（{UNTRAINED_ZH.get(reason, reason)}）",
        }
        return rule, summary, production

    def sample(self, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        return sample_per_cutoff(frame, self.cfg.max_rows_per_cutoff, self.labels(frame) > 0, seed)

    def metrics(self, frame: pd.DataFrame, score: np.ndarray) -> dict:
        y = self.labels(frame)
        return ev.churn_metrics(y, score) if self.name == "churn" else ev.value_metrics(y, score)

    def rules(self, train: pd.DataFrame, vocabulary) -> dict[str, RuleScorer]:
        return {
            name: RuleScorer(feature, name, self.calibrate_baselines).fit(
                train, self.labels(train), vocabulary
            )
            for name, feature in self.baselines.items()
            if feature in train
        }


def _targets(churn_cfg: ChurnConfig, upside_cfg: UpsideConfig, horizon_days: int) -> list[_Target]:
    return [
        _Target("churn", churn_cfg, "roc_auc", CHURN_BASELINES, True),
        _Target("upside", upside_cfg, "normalized_gini", value_baselines(horizon_days), False),
    ]


def _score(model, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(frame) if hasattr(model, "predict_proba") else model.predict(frame)


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

    def rows(days: list[int], frame: pd.DataFrame = labelled) -> pd.DataFrame:
        wanted = np.array([to_date(d).to_datetime64() for d in days], dtype="datetime64[s]")
        return frame[np.isin(frame[s.CUTOFF].to_numpy(), wanted)].reset_index(drop=True)

    @functools.cache  # both models are measured on the same rows of each fold
    def fold_rows(fold: int, max_rows: int | None) -> pd.DataFrame:
        return validation_rows(rows([fold]), max_rows)

    # whether the data can train a model is a question of ids and labels alone: no copy of features
    id_and_labels = labelled[[s.CUSTOMER_ID, s.CUTOFF, s.CHURNED, s.FUTURE_VALUE]]
    targets = _targets(churn_cfg, upside_cfg, schedule.horizon_days)
    metrics, plots, producers, backtest = {}, {}, {}, []
    pools = dict(pools or {})
    for target in targets:
        folds, newest = {}, None
        reason = target.cannot_learn(rows(schedule.production, id_and_labels))
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
        for number, fold in enumerate(schedule.folds, 1):  # fold_1 is the oldest
            train = rows(schedule.training_for(fold), pool)
            valid = fold_rows(fold, target.cfg.max_validation_rows)
            if target.cannot_learn(train) or target.cannot_learn(valid):
                continue  # a fold without both outcomes measures nothing
            model = target.model(seed).fit(train, vocabulary)
            scores = {
                "model": _score(model, valid),
                **{
                    name: rule.predict(valid)
                    for name, rule in target.rules(train, vocabulary).items()
                },
            }
            date, key = str(to_date(fold).date()), f"fold_{number}"
            y = target.labels(valid)
            # keyed by position, so runs of other periods log the same metric names to MLflow
            folds[key] = {
                "cutoff": date,
                "train_rows": len(train),
                "valid_rows": len(valid),
                "best_iteration": model.best_iteration_,
                **{name: target.metrics(valid, score) for name, score in scores.items()},
                "margin_se": {
                    name: ev.margin_standard_error(target.headline, y, scores["model"], score, seed)
                    for name, score in scores.items()
                    if name != "model"
                },
            }
            backtest += [
                {
                    "target": target.name,
                    "fold_cutoff": date,
                    "scorer": name,
                    "metric": metric,
                    "value": value,
                }
                for name in scores
                for metric, value in folds[key][name].items()
            ]
            newest = (valid, scores)
        summary = ev.backtest_grade(
            target.name,
            target.headline,
            {
                name: [f[name][target.headline] for f in folds.values()]
                for name in ["model", *target.baselines]
                if all(name in f for f in folds.values())
            },
            target.cfg.grade_a_margin,
            {name: [f["margin_se"].get(name) for f in folds.values()] for name in target.baselines},
        )
        producers[target.name], production = _production(
            target, rows(schedule.production, pool), folds, summary, vocabulary, seed
        )
        metrics[target.name] = {
            **_mean_and_spread(folds),
            "folds": folds,
            "summary": summary,
            "production": production,
        }
        if newest is not None:
            plots.update(_plot_tables(target.name, target.labels(newest[0]), newest[1]))
    if "baseline_recency" in metrics["churn"] and schedule.folds:
        fold_train = rows(schedule.training_for(schedule.folds[-1]), pools["churn"])
        metrics["churn"]["baseline_recency"]["best_n_days"] = best_recency_days(fold_train)
    for name, columns in EMPTY_PLOTS.items():  # no fold measured anything: empty plot tables
        plots.setdefault(name, pd.DataFrame(columns=columns))
    plots["backtest"] = pd.DataFrame(
        backtest, columns=["target", "fold_cutoff", "scorer", "metric", "value"]
    )
    return Trained(producers["churn"], producers["upside"], metrics, plots)


def _production(
    target: _Target, sample: pd.DataFrame, folds: dict, summary: dict, vocabulary, seed: int
):
    """Refit on every labelled cutoff (`sample`: its rows in the training pool) with the rounds the
    backtest found (scaled to the larger set, at most doubled), or fit the best baseline when the
    model does not win (or config says so)."""
    choice = target.cfg.scorer
    use_model = choice == "model" or (choice == "auto" and summary["grade"] != "C")
    info = {
        "training_cutoffs": sorted(
            {str(d.date()) for d in pd.to_datetime(sample[s.CUTOFF].unique())}
        ),
        "train_rows": len(sample),
    }
    if use_model and not folds:  # nothing measured the rounds: early-stop on held-out customers
        producer = target.model(seed).fit(sample, vocabulary)
        info.update(n_estimators=producer.best_iteration_)
        scorer = "model"
    elif use_model:
        fold_rounds = float(np.median([f["best_iteration"] for f in folds.values()]))
        fold_rows = float(np.mean([f["train_rows"] for f in folds.values()]))
        rounds = max(
            1, int(round(fold_rounds * float(np.clip(len(sample) / max(fold_rows, 1.0), 1.0, 2.0))))
        )
        producer = target.model(seed, n_estimators=rounds).fit(sample, vocabulary)
        info.update(
            n_estimators=rounds,
            **({"calibration": producer.calibration_used_} if target.name == "churn" else {}),
        )
        scorer = "model"
    else:
        scorer = summary["best_baseline"]
        producer = target.rules(sample, vocabulary)[scorer]
    producer.scorer_ = scorer
    info.update(ev.scorer_reason(target.name, scorer, choice, summary))
    return producer, info


def _mean_and_spread(folds: dict) -> dict:
    """Per scorer, each metric's mean over the folds, and its fold-to-fold spread (standard deviation)."""
    scorers = (
        [
            k
            for k, v in next(iter(folds.values())).items()
            if isinstance(v, dict) and k != "margin_se"
        ]
        if folds
        else []
    )
    out, spread = {}, {}
    for name in scorers:
        table = pd.DataFrame([f[name] for f in folds.values()])
        out[name] = {k: float(v) for k, v in table.mean().items()}
        spread[name] = {k: float(v) for k, v in table.std(ddof=1).fillna(0.0).items()}
    if folds:
        out["model"]["best_iteration"] = float(
            np.median([f["best_iteration"] for f in folds.values()])
        )
    return {**out, "spread": spread}


def _plot_tables(
    target: str, y: np.ndarray, scores: dict[str, np.ndarray]
) -> dict[str, pd.DataFrame]:
    """Plot data on the newest fold: calibration and lift for churn, deciles for value."""
    if target == "churn":
        return {
            "calibration": ev.calibration_table(y, scores["model"]),
            "lift": _lift_curve(y, scores),
        }
    return {"deciles": ev.decile_table(y, scores["model"])}


def _lift_curve(y: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cumulative share of churners caught vs share of customers contacted, per scorer."""
    rows = []
    for name, score in scores.items():
        order = np.argsort(-score, kind="stable")
        caught = np.cumsum(y[order]) / max(y.sum(), 1)
        for q in np.linspace(0.05, 1.0, 20):
            rows.append(
                {
                    "scorer": name,
                    "share_contacted": round(float(q), 2),
                    "share_churners_caught": float(caught[max(int(len(y) * q) - 1, 0)]),
                }
            )
    return pd.DataFrame(rows)


def importance(models: dict) -> pd.DataFrame:
    """Gain importance per feature for each LightGBM model (a baseline rule has one driver), for the report."""
    frames = [
        pd.DataFrame(
            {
                "model": name,
                "feature": m.features_,
                "gain": m.booster_.feature_importance("gain", iteration=m.best_iteration_)
                if hasattr(m, "booster_")
                else np.ones(len(m.features_)),
            }
        )
        for name, m in models.items()
    ]
    return pd.concat(frames, ignore_index=True)


HEADLINE = {"churn": "roc_auc", "upside": "normalized_gini"}


def fold_cutoffs(metrics: dict) -> list[pd.Timestamp]:
    """The cutoffs of this run's backtest folds (either model): the rows `challenge` re-scores."""
    return sorted(
        {pd.Timestamp(fold["cutoff"]) for m in metrics.values() for fold in m["folds"].values()}
    )


def challenge(
    champion: dict | None,
    labelled: pd.DataFrame,
    schedule: Schedule,
    metrics: dict,
    champion_horizon: int | None,
) -> tuple[bool, str]:
    """Should this run's models replace the champion set? The champion's churn and value scorers
    are re-scored on this run's backtest folds, beside this run's production scorers' fold results;
    the new set wins when neither of its headline means is below the champion's.

    The champion may have learnt from some of these folds' label windows, so the comparison leans
    its way: a new set that still wins is not worse. A champion of another churn horizon, or one
    that cannot read this run's features, is not comparable.
    """
    if champion is None:
        return True, "no champion yet"
    if champion_horizon != schedule.horizon_days:
        return False, (
            f"the champion predicts {champion_horizon} days ahead, this run "
            f"{schedule.horizon_days}: not comparable; promote by hand if intended"
        )
    lines, wins = [], True
    for target, headline in HEADLINE.items():
        produced = metrics[target]["production"]["scorer"]
        folds = metrics[target]["folds"]
        new, old = [], []
        for fold in folds.values():
            # the fold's customers that train measured on (valid_rows of them, by id hash)
            valid = validation_rows(
                labelled[labelled[s.CUTOFF] == pd.Timestamp(fold["cutoff"])].reset_index(drop=True),
                fold["valid_rows"],
            )
            y = _labels(target, valid)
            try:
                old.append(ev.HEADLINE[headline](y, _score(champion[target], valid)))
            except FeatureMismatchError:
                return (
                    True,
                    "the champion cannot score this run's features (settings changed): replaced",
                )
            new.append(fold[produced][headline])
        wins &= bool(np.mean(new) >= np.mean(old))
        lines.append(
            f"{target} {ev.METRIC_NAMES.get(headline, headline)} {np.mean(new):.3f} vs champion "
            f"{np.mean(old):.3f}"
        )
    return wins, (
        "beats" if wins else "does not beat"
    ) + " the champion on this run's folds: " + "; ".join(lines)


def _labels(target: str, frame: pd.DataFrame) -> np.ndarray:
    """Churned (0/1), or next-period spend (net refunds can push a window below zero; spend cannot
    be negative for Tweedie)."""
    if target == "churn":
        return frame[s.CHURNED].to_numpy(float)
    return np.clip(frame[s.FUTURE_VALUE].to_numpy(float), 0, None)
