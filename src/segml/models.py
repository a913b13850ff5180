"""Churn and future-value (upside) models, their baselines, and the train stage.

Both models are LightGBM, early-stopped on customers held out of the training cutoffs, and
measured on a later validation cutoff that no training label window overlaps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss

from segml import evaluation as ev
from segml import schema as s
from segml.config import ChurnConfig, UpsideConfig
from segml.features import Vocabulary, feature_columns


class FeatureMismatchError(ValueError):
    """The data does not have the columns the model was trained on."""


def _holdout_mask(customer_ids: pd.Series, share: float, seed: int) -> np.ndarray:
    """Hold out whole customers (all their cutoffs), so the holdout never leaks into training."""
    unique = np.sort(customer_ids.unique())
    rng = np.random.default_rng(seed)
    held = set(rng.choice(unique, size=max(1, int(len(unique) * share)), replace=False))
    return customer_ids.isin(held).to_numpy()


class _LightGBMModel:
    """Shared by both models: the exact training columns and category levels, monotone business
    directions, early stopping on held-out customers, SHAP contributions."""

    objective = "regression"

    def __init__(self, params: dict | None = None, n_estimators: int = 2000, early_stopping_rounds: int = 100,
                 holdout_share: float = 0.2, monotone: dict | None = None, random_state: int = 42):
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.holdout_share = holdout_share
        self.monotone = monotone
        self.random_state = random_state

    def _boost(self, estimator, train: pd.DataFrame, y: np.ndarray, vocabulary) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit with early stopping on held-out customers; returns the held-out rows for calibration."""
        self._remember_features(train, vocabulary)
        held = _holdout_mask(train[s.CUSTOMER_ID], self.holdout_share, self.random_state)
        X = self.matrix(train)
        model = estimator(n_estimators=self.n_estimators, **self._lgb_params(
            {"objective": self.objective, **(self.params or {})}, self.random_state))
        model.fit(X[~held], y[~held], eval_X=(X[held],), eval_y=(y[held],),
                  callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)])
        self.booster_ = model.booster_
        self.best_iteration_ = int(model.best_iteration_ or self.n_estimators)
        return X[held], y[held]

    def _remember_features(self, frame: pd.DataFrame, vocabulary) -> None:
        # the vocabulary lets `segml score` rebuild exactly these columns from new transactions
        self.vocabulary_ = vocabulary
        self.features_ = feature_columns(frame)
        self.categories_ = {c: list(frame[c].cat.categories) for c in self.features_
                            if isinstance(frame[c].dtype, pd.CategoricalDtype)}

    def matrix(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The model's input columns in training order; categories cast to the training levels."""
        missing = [c for c in self.features_ if c not in frame.columns]
        extra = [c for c in feature_columns(frame) if c not in self.features_]
        if missing:
            raise FeatureMismatchError(
                f"{type(self).__name__} expects columns missing from the data: {missing}"
                + (f"; the data has columns the model does not know: {extra}" if extra else "")
                + ". Score data with the same feature settings (conf/features) the model was trained with."
            )
        X = frame[self.features_].copy()
        for column, levels in self.categories_.items():
            X[column] = pd.Categorical(X[column].astype(object), categories=levels)
        return X

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per-feature SHAP contributions (TreeSHAP, computed by LightGBM itself), raw score units."""
        values = self.booster_.predict(self.matrix(frame), num_iteration=self.best_iteration_, pred_contrib=True)
        return pd.DataFrame(values[:, :-1], columns=self.features_, index=frame.index)

    def _lgb_params(self, params: dict, seed: int) -> dict:
        constraints = [0] * len(self.features_)
        for pattern, sign in (self.monotone or {}).items():  # business direction, enforced by the trees
            for j, feature in enumerate(self.features_):
                if re.fullmatch(pattern, feature):
                    constraints[j] = int(sign)
        return {"verbose": -1, "random_state": seed, "deterministic": True, "force_row_wise": True,
                "n_jobs": 2, "monotone_constraints": constraints, **params}


class ChurnModel(_LightGBMModel):
    """P(no purchase in the next H days), calibrated on held-out customers when that helps."""

    objective = "binary"

    def __init__(self, params: dict | None = None, n_estimators: int = 2000, early_stopping_rounds: int = 100,
                 holdout_share: float = 0.2, calibration: str = "auto", monotone: dict | None = None,
                 random_state: int = 42):
        super().__init__(params, n_estimators, early_stopping_rounds, holdout_share, monotone, random_state)
        self.calibration = calibration

    def fit(self, train: pd.DataFrame, vocabulary: Vocabulary | None = None) -> ChurnModel:
        X_held, y_held = self._boost(lgb.LGBMClassifier, train, train[s.CHURNED].to_numpy(), vocabulary)
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
        if kind == "auto":  # keep isotonic only if it lowers Brier out of sample (two-fold on the holdout)
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


class RecencyRule:
    """Baseline: churn probability as a monotone function of days since last purchase.

    Its ranking is the family of "no purchase in the last N days" rules; `best_n_days_` is the
    single N that best separates churners in training (Youden's J).
    """

    def fit(self, train: pd.DataFrame) -> RecencyRule:
        r, y = train["recency_days"].to_numpy(float), train[s.CHURNED].to_numpy(float)
        self.iso_ = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(r, y)
        candidates = np.unique(np.quantile(r, np.linspace(0.02, 0.98, 49)))
        tpr = np.array([(r[y == 1] > n).mean() for n in candidates])
        fpr = np.array([(r[y == 0] > n).mean() for n in candidates])
        self.best_n_days_ = float(candidates[int(np.argmax(tpr - fpr))])
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        # tiny recency tie-break keeps the ranking of the whole rule family inside flat steps
        r = frame["recency_days"].to_numpy(float)
        return np.clip(self.iso_.predict(r) + r * 1e-9, 0, 1)


@dataclass(frozen=True)
class Trained:
    churn: ChurnModel
    upside: UpsideModel
    metrics: dict  # {"churn": {...}, "upside": {...}}
    plots: dict[str, pd.DataFrame]  # plot data for DVC and the report


def _last_period_spend(frame: pd.DataFrame, horizon_days: int) -> np.ndarray:
    return np.clip(frame[f"spend_{horizon_days}d"].to_numpy(float), 0, None)


def train_models(train: pd.DataFrame, valid: pd.DataFrame, churn_cfg: ChurnConfig, upside_cfg: UpsideConfig,
                 horizon_days: int, seed: int, vocabulary: Vocabulary | None = None) -> Trained:
    """The train stage: fit both models and measure them beside their baselines on `valid`."""
    churn = ChurnModel(dict(churn_cfg.params), churn_cfg.n_estimators, churn_cfg.early_stopping_rounds,
                       churn_cfg.holdout_share, churn_cfg.calibration, dict(churn_cfg.monotone), seed).fit(train, vocabulary)
    upside = UpsideModel(dict(upside_cfg.params), upside_cfg.n_estimators, upside_cfg.early_stopping_rounds,
                         upside_cfg.holdout_share, dict(upside_cfg.monotone), seed).fit(train, vocabulary)
    y = valid[s.CHURNED].to_numpy()
    actual = valid[s.FUTURE_VALUE].to_numpy(float)

    p_model = churn.predict_proba(valid)
    recency = RecencyRule().fit(train)
    churn_scores = {"model": p_model, "baseline_recency": recency.predict_proba(valid)}
    if "bgnbd_p_no_purchase" in valid:
        churn_scores["baseline_bgnbd"] = valid["bgnbd_p_no_purchase"].to_numpy(float)
    churn_metrics = {name: ev.churn_metrics(y, p) for name, p in churn_scores.items()}
    churn_metrics["model"].update(best_iteration=churn.best_iteration_, calibration=churn.calibration_used_)
    churn_metrics["baseline_recency"]["best_n_days"] = recency.best_n_days_
    churn_metrics["summary"] = ev.grade(churn_metrics["model"]["roc_auc"],
                                        {k: v["roc_auc"] for k, v in churn_metrics.items() if k.startswith("baseline")})

    v_model = upside.predict(valid)
    value_scores = {"model": v_model, "baseline_last_period": _last_period_spend(valid, horizon_days)}
    if "bgnbd_expected_value" in valid:  # BG/NBD expected purchases x average order value
        value_scores["baseline_bgnbd"] = valid["bgnbd_expected_value"].to_numpy(float)
    value_metrics = {name: ev.value_metrics(actual, v) for name, v in value_scores.items()}
    value_metrics["model"]["best_iteration"] = upside.best_iteration_
    value_metrics["summary"] = ev.grade(value_metrics["model"]["normalized_gini"],
                                        {k: v["normalized_gini"] for k, v in value_metrics.items() if k.startswith("baseline")})

    counts = {"train_rows": len(train), "valid_rows": len(valid), "valid_churn_rate": float(np.mean(y))}
    plots = {
        "calibration": ev.calibration_table(y, p_model),
        "deciles": ev.decile_table(actual, v_model),
        "lift": _lift_curve(y, churn_scores),
    }
    return Trained(churn, upside, {"churn": {**churn_metrics, **{"data": counts}},
                                   "upside": value_metrics}, plots)


def _lift_curve(y: np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Cumulative share of churners caught vs share of customers contacted, per scorer."""
    rows = []
    for name, score in scores.items():
        order = np.argsort(-score, kind="stable")
        caught = np.cumsum(y[order]) / max(y.sum(), 1)
        for q in np.linspace(0.05, 1.0, 20):
            rows.append({"scorer": name, "share_contacted": round(float(q), 2),
                         "share_churners_caught": float(caught[max(int(len(y) * q) - 1, 0)])})
    return pd.DataFrame(rows)


def importance(models: dict[str, _LightGBMModel]) -> pd.DataFrame:
    """Gain importance per feature for each model, for the report."""
    frames = [pd.DataFrame({"model": name, "feature": m.features_,
                            "gain": m.booster_.feature_importance("gain", iteration=m.best_iteration_)})
              for name, m in models.items()]
    return pd.concat(frames, ignore_index=True)
