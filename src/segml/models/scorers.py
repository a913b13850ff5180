"""The scorers the tier stage and `segml score` load and call: the LightGBM churn and value models,
the baseline rule as a scorer, the blend of the two, a forecast scaled so its totals add up, the
column checks that refuse data built with other feature settings, and the models' gain importance.

Pickles of these classes made before they moved here name `segml.models.training`;
`segml.data.io.load_pickle` maps that name to this module.
"""

from __future__ import annotations

import re

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from segml.data import schema as s
from segml.errors import FeatureMismatchError
from segml.features.build import Vocabulary, feature_columns, over_levels
from segml.machine import cores


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

    def held_out(self, train: pd.DataFrame) -> np.ndarray:
        """Which rows of `train` the model does not learn from (it stops and calibrates on them);
        none when it neither stops early nor calibrates."""
        if self.early_stopping_rounds or self.uses_holdout:
            return _holdout_mask(train[s.CUSTOMER_ID], self.holdout_share, self.random_state)
        return np.zeros(len(train), bool)

    def _boost(
        self, estimator, train: pd.DataFrame, y: np.ndarray, vocabulary
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit, early-stopped on held-out customers when `early_stopping_rounds` is set (else exactly
        `n_estimators` rounds); returns the held-out rows (for calibration)."""
        self._remember_features(train, vocabulary)
        stops = bool(self.early_stopping_rounds)
        held = self.held_out(train)
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

    def __init__(self, feature: str, name: str, calibrate: bool = True, increasing: bool = True):
        self.feature = feature
        self.name = name
        self.calibrate = calibrate
        self.increasing = increasing  # False: a larger value means a lower score

    @property
    def tie_break_slope(self) -> float:
        """Keeps the feature's own order inside the calibrated function's flat steps."""
        return 1e-9 if getattr(self, "increasing", True) else -1e-9

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
                increasing=self.increasing, out_of_bounds="clip", y_min=0.0, y_max=1.0
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
        return np.clip(self.iso_.predict(x) + x * self.tie_break_slope, 0, 1)

    predict_proba = predict

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rule's one driver: how far this customer's score is from the training average."""
        predicted = self.predict(frame)
        reference = getattr(self, "reference_", None)  # rules pickled before it: today's average
        if reference is None:
            reference = predicted.mean()
        return pd.DataFrame({self.feature: predicted - reference}, index=frame.index)


QUANTILES = 1001  # points of each part's score distribution a blend keeps


def _rank_table(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct score quantiles, their percentile): maps a score to its percentile rank among the
    scores it was made from (tied quantiles take the middle of their percentiles)."""
    levels = np.linspace(0.0, 1.0, QUANTILES)
    values = np.quantile(np.asarray(scores, dtype=float), levels) if len(scores) else np.zeros(1)
    distinct, first, counts = np.unique(values, return_index=True, return_counts=True)
    return distinct, (levels[first] + levels[first + counts - 1]) / 2


def _percentile(scores: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    values, ranks = table
    if len(values) == 1:
        return np.full(len(scores), 0.5)
    return np.interp(np.asarray(scores, dtype=float), values, ranks)


def _link(values: np.ndarray, churn: bool) -> np.ndarray:
    """A score on the scale a LightGBM model's contributions are in: log-odds for a probability,
    the log for spend (Tweedie's log link; below one yuan counts as one)."""
    if churn:
        return _logit(values)
    return np.log(np.maximum(np.asarray(values, dtype=float), 1.0))


class _Blend:
    """The blend of the model and a baseline rule: a third candidate scorer, measured in the
    backtest like the other two. Each part scores the customer's own row, so a customer's blend
    never depends on who else is scored (partitions, `segml score`)."""

    churn = False

    def __init__(self, model, baseline):
        self.model = model
        self.baseline = baseline

    def fit(self, held: pd.DataFrame, y: np.ndarray) -> _Blend:
        """`held`: customers neither part learnt from (the model's held-out customers)."""
        self.features_ = list(self.model.features_)
        self.vocabulary_ = getattr(self.model, "vocabulary_", None)
        self.trained_columns_ = list(getattr(self.model, "trained_columns_", self.model.features_))
        return self

    def combine(self, model_scores: np.ndarray, baseline_scores: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.combine(score(self.model, frame), score(self.baseline, frame))

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Half the model's SHAP contributions and half the baseline's one driver, both on the
        model's raw scale (log-odds for churn, log spend for value)."""
        out = self.model.contributions(frame) * 0.5
        predicted = score(self.baseline, frame)
        reference = getattr(self.baseline, "reference_", None)
        reference = float(np.mean(predicted)) if reference is None else reference
        driver = (_link(predicted, self.churn) - _link(np.array([reference]), self.churn)) * 0.5
        # a rule has one driver; a table baseline (sBG, contract x tenure) puts its effect on its
        # first key, the contract term, as its own contributions do
        feature = getattr(self.baseline, "feature", None) or self.baseline.features_[0]
        out[feature] = (out[feature] if feature in out else 0.0) + driver
        return out


class ChurnBlend(_Blend):
    """Churn: the mean of the two scores' percentile ranks among the customers being scored,
    calibrated to a probability by isotonic regression on held-out customers (lifecycle's at-risk
    threshold needs a probability).

    The ranks are taken within the scored population, from its scores alone (no labels): the
    backtest fold's customers there, the snapshot's active customers in production
    (`for_population`, kept as tables so each customer is still scored from its own row). Ranks
    from another population (the training cutoffs' customers) lost the blend's gain on the
    cohort data: 0.002-0.003 ROC AUC of the 0.002-0.004 it had over the better part (README)."""

    churn = True

    def fit(self, held: pd.DataFrame, y: np.ndarray) -> ChurnBlend:
        super().fit(held, y)
        model_scores, baseline_scores = score(self.model, held), score(self.baseline, held)
        self.for_population(model_scores, baseline_scores)
        raw = self._raw(model_scores, baseline_scores)
        self.calibrator_ = (
            IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
            if len(np.unique(y)) > 1
            else None
        )
        return self

    def for_population(self, model_scores: np.ndarray, baseline_scores: np.ndarray) -> ChurnBlend:
        """Rank the parts' scores among these (the scored population's, unlabelled)."""
        self.model_ranks_ = _rank_table(model_scores)
        self.baseline_ranks_ = _rank_table(baseline_scores)
        return self

    def _raw(self, model_scores: np.ndarray, baseline_scores: np.ndarray) -> np.ndarray:
        return (
            _percentile(model_scores, self.model_ranks_)
            + _percentile(baseline_scores, self.baseline_ranks_)
        ) / 2

    def combine(self, model_scores: np.ndarray, baseline_scores: np.ndarray) -> np.ndarray:
        raw = self._raw(model_scores, baseline_scores)
        if self.calibrator_ is None:
            return raw
        # the tie-break keeps the blend's own order inside the calibration's flat steps
        return np.clip(self.calibrator_.predict(raw) + raw * 1e-9, 0, 1)

    predict_proba = _Blend.predict


class ValueBlend(_Blend):
    """Value: the mean of the two forecasts, so the blend stays in currency and totals add up."""

    def for_population(self, model_scores: np.ndarray, baseline_scores: np.ndarray) -> ValueBlend:
        return self  # a mean of forecasts needs no ranks

    def combine(self, model_scores: np.ndarray, baseline_scores: np.ndarray) -> np.ndarray:
        return (
            np.asarray(model_scores, dtype=float) + np.asarray(baseline_scores, dtype=float)
        ) / 2


class ScaledScorer:
    """A value scorer whose forecasts are multiplied by `factor`, so their total matches what
    customers spent in the backtest (`segml.models.totals`). Ranks, and so every ranking metric
    and grade, are unchanged."""

    def __init__(self, inner, factor: float):
        self.inner = inner
        self.factor = float(factor)

    @property
    def features_(self) -> list[str]:
        return self.inner.features_

    @property
    def vocabulary_(self):
        return getattr(self.inner, "vocabulary_", None)

    @property
    def trained_columns_(self) -> list[str]:
        return getattr(self.inner, "trained_columns_", self.inner.features_)

    def unscaled(self, frame: pd.DataFrame) -> np.ndarray:
        return self.inner.predict(frame)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.unscaled(frame) * self.factor

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        # on the log scale a factor moves every customer alike: the drivers are the inner scorer's
        return self.inner.contributions(frame)

    # the inner scorer's trees and input matrix, where it has them: reasons then estimate the
    # drivers of customers past `tiering.reasons.max_customers` as for the unscaled model (without
    # these every customer's drivers were computed exactly: at 1 M customers, 30 s of TreeSHAP)
    @property
    def booster_(self):
        return self.inner.booster_

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        return self.inner.matrix(frame)


def unscaled_forecast(upside, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(forecast, forecast before the total's factor) of a value scorer, predicting once."""
    if isinstance(upside, ScaledScorer):
        raw = upside.unscaled(frame)
        return raw * upside.factor, raw
    forecast = upside.predict(frame)
    return forecast, forecast


def boosted(scorer):
    """The LightGBM model inside a scorer (None for a baseline rule)."""
    inner = getattr(scorer, "inner", None)
    if inner is not None:
        return boosted(inner)
    if hasattr(scorer, "booster_"):
        return scorer
    return boosted(scorer.model) if isinstance(scorer, _Blend) else None


def score(model, frame: pd.DataFrame) -> np.ndarray:
    """A scorer's output per row: the probability for churn, the predicted spend for value."""
    return model.predict_proba(frame) if hasattr(model, "predict_proba") else model.predict(frame)


def importance(models: dict) -> pd.DataFrame:
    """Gain importance per feature for each LightGBM model (a baseline rule has one driver; a blend
    or a scaled forecast shows its model's), for the report."""
    frames = []
    for name, scorer in models.items():
        m = boosted(scorer) or scorer
        frames.append(
            pd.DataFrame(
                {
                    "model": name,
                    "feature": m.features_,
                    "gain": m.booster_.feature_importance("gain", iteration=m.best_iteration_)
                    if hasattr(m, "booster_")
                    else np.ones(len(m.features_)),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
