"""A segml model as an MLflow pyfunc model that needs only numpy, pandas (and lightgbm for boosted
models): the code MLflow logs with each model ("models from code").

This file is copied into the logged model and executed when the model is loaded, possibly where
segml is not installed, so it must never import segml (nor scikit-learn). Everything the model
knows is in `spec.json` (plain numbers and names) and, for boosted models, LightGBM's own text
file. `segml.reporting.model_export` writes both from the fitted segml objects.

Spec kinds (field `kind`):
- "lightgbm": booster over `features` (category levels in `categories`), then an optional
  `calibrator` ({"kind": "isotonic", "x", "y"} or {"kind": "platt", "coef", "intercept"});
- "piecewise_linear": a monotone step function of one `feature` (isotonic thresholds `x`, `y`,
  linear between them, flat outside), plus `tie_break_slope` x feature;
- "column": one input column as the score;
- "sum": the sum of its `parts`' scores (the run rate with both exports: fees plus purchases);
- "nearest_center": standardised (optionally signed-log) `features` assigned to the nearest of
  `centers`; returns the segment id and its persona names;
- "blend": two `parts` (a "lightgbm" model and a rule); a probability is the mean of the parts'
  percentile ranks (`ranks`: per part, score quantiles and their percentiles), then `calibrator`
  and `tie_break_slope` x that mean; a value is the mean of the two forecasts;
- "lookup": subscribers' contract x tenure rule: the rate of each (`features`[0] value, tenure
  band of `features`[1] cut at `bands`) cell in `cells`, else the term's rate in `terms`, else
  `overall`;
- "sbg": subscribers' shifted-beta-geometric churn within `horizon_days`, with log(alpha),
  log(beta)[, logit of the monthly early-termination rate] per contract term in `terms`, else
  `pooled` (segml.models.baselines.SbgScorer).
Every kind may `clip` its score to [low, high] (null = open), and a forecast may be multiplied by
`total_factor` (a value scorer corrected so its totals add up).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

FORMAT = "segml-portable/1"


def _clip(values: np.ndarray, bounds) -> np.ndarray:
    if not bounds:
        return values
    low, high = bounds
    return np.clip(values, -np.inf if low is None else low, np.inf if high is None else high)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def calibrate(raw: np.ndarray, calibrator: dict | None) -> np.ndarray:
    """Apply an exported calibrator to raw probabilities."""
    if not calibrator or calibrator["kind"] == "none":
        return raw
    if calibrator["kind"] == "isotonic":  # scikit-learn's IsotonicRegression(out_of_bounds="clip")
        return np.interp(raw, calibrator["x"], calibrator["y"])
    if calibrator["kind"] == "platt":  # logistic regression on the log-odds
        z = calibrator["coef"] * _logit(raw) + calibrator["intercept"]
        return 1.0 / (1.0 + np.exp(-z))
    raise ValueError(f"unknown calibrator kind {calibrator['kind']!r}")


def _rank(scores: np.ndarray, values: list, ranks: list) -> np.ndarray:
    """A score's percentile among the scores a blend part was calibrated on."""
    if len(values) == 1:
        return np.full(len(scores), 0.5)
    return np.interp(scores, values, ranks)


def booster_matrix(spec: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """The booster's columns in training order; categories cast to the training levels."""
    columns = {}
    for column in spec["features"]:
        levels = spec.get("categories", {}).get(column)
        if levels is None:
            columns[column] = _numbers(frame, column)
        else:
            text = frame[column].astype(object).where(frame[column].notna(), None)
            columns[column] = pd.Categorical(text, categories=levels)
    return pd.DataFrame(columns, index=frame.index)


def uses_booster(spec: dict) -> bool:
    return spec["kind"] == "lightgbm" or any(uses_booster(p) for p in spec.get("parts", []))


def predict_spec(spec: dict, frame: pd.DataFrame, booster=None):
    """Score `frame` with an exported model: an array of scores, or a frame for segments."""
    if "total_factor" in spec:
        inner = {k: v for k, v in spec.items() if k != "total_factor"}
        return predict_spec(inner, frame, booster) * spec["total_factor"]
    kind = spec["kind"]
    if kind == "blend":
        model, rule = (
            predict_spec(p, frame, booster if uses_booster(p) else None) for p in spec["parts"]
        )
        if spec["output"] == "value":
            return _clip((model + rule) / 2, spec.get("clip"))
        (mx, my), (rx, ry) = spec["ranks"]
        mean = (_rank(model, mx, my) + _rank(rule, rx, ry)) / 2
        score = calibrate(mean, spec.get("calibrator")) + mean * spec.get("tie_break_slope", 0.0)
        return _clip(score, spec.get("clip"))
    if kind == "lightgbm":
        raw = booster.predict(booster_matrix(spec, frame), num_iteration=spec["num_iteration"])
        return _clip(calibrate(raw, spec.get("calibrator")), spec.get("clip"))
    if kind == "piecewise_linear":
        x = _numbers(frame, spec["feature"])
        score = np.interp(x, spec["x"], spec["y"]) + x * spec.get("tie_break_slope", 0.0)
        return _clip(score, spec.get("clip"))
    if kind == "column":
        return _clip(_numbers(frame, spec["feature"]), spec.get("clip"))
    if kind == "sum":  # e.g. the run rate with both exports: fees plus purchases at their pace
        return sum(predict_spec(p, frame, booster) for p in spec["parts"])
    if kind == "lookup":
        return _lookup(spec, frame)
    if kind == "sbg":
        return _sbg(spec, frame)
    if kind == "nearest_center":
        values = np.column_stack([_numbers(frame, c) for c in spec["features"]])
        if spec.get("log_scale"):
            values = np.sign(values) * np.log1p(np.abs(values))
        z = (values - np.asarray(spec["mean"])) / np.asarray(spec["scale"])
        centers = np.asarray(spec["centers"])
        distance = ((z[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
        segment = distance.argmin(axis=1)
        names = spec["names"]
        return pd.DataFrame(
            {
                "segment": segment.astype(np.int64),
                **{
                    key: [names[s][key] for s in segment]
                    for key in ("persona", "persona_en", "persona_zh")
                },
            },
            index=frame.index,
        )
    raise ValueError(f"unknown model kind {kind!r} in spec (format {spec.get('format')})")


DAYS_PER_MONTH = 365.25 / 12


def _lookup(spec: dict, frame: pd.DataFrame) -> np.ndarray:
    term = np.nan_to_num(_numbers(frame, spec["features"][0]))
    edges = np.asarray(spec["bands"][1:], dtype=float)
    band = np.searchsorted(edges, _numbers(frame, spec["features"][1]), side="right")
    cells = {(float(c), int(b)): float(r) for c, b, r in spec["cells"]}
    terms = {float(c): float(r) for c, r in spec["terms"]}
    return np.array(
        [cells.get((c, int(b)), terms.get(c, spec["overall"])) for c, b in zip(term, band)],
        dtype=float,
    )


def _betaln(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lgamma = np.frompyfunc(math.lgamma, 1, 1)
    return (lgamma(a) + lgamma(b) - lgamma(a + b)).astype(float)


def _sbg_leave(params: list, n: np.ndarray, k: np.ndarray, horizon: float) -> np.ndarray:
    alpha, beta = math.exp(params[0]), math.exp(params[1])
    stay = np.exp(_betaln(alpha, beta + n + k) - _betaln(alpha, beta + n))
    if len(params) == 3:  # leaving before a contract's term ends
        stay = stay * (1 - 1 / (1 + math.exp(-params[2]))) ** (horizon / DAYS_PER_MONTH)
    return np.clip(1 - stay, 1e-9, 1 - 1e-9)


def _sbg(spec: dict, frame: pd.DataFrame) -> np.ndarray:
    horizon = float(spec["horizon_days"])
    term = np.nan_to_num(_numbers(frame, "contract_months"))
    tenure, left = _numbers(frame, "tenure_days"), _numbers(frame, "contract_days_left")
    period = np.where(term > 0, term, 1) * DAYS_PER_MONTH
    n = np.floor(tenure / period)
    k_term = (np.nan_to_num(left, nan=np.inf) <= horizon).astype(float)
    k = np.where(term > 0, k_term, np.floor((tenure + horizon) / period) - n)
    out = _sbg_leave(spec["pooled"], n, k, horizon)
    for value, params in spec["terms"]:
        on = term == value
        out[on] = _sbg_leave(params, n[on], k[on], horizon)
    return out


class PortableModel(PythonModel):
    """pyfunc wrapper: loads spec.json (and booster.txt) from the model's artifacts."""

    def load_context(self, context):
        self.spec = json.loads(Path(context.artifacts["spec"]).read_text(encoding="utf-8"))
        self.booster = None
        if uses_booster(self.spec):
            import lightgbm

            self.booster = lightgbm.Booster(model_file=context.artifacts["booster"])

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return predict_spec(self.spec, pd.DataFrame(model_input), self.booster)


set_model(PortableModel())
