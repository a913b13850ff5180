"""Fitted segml models -> the portable format of `segml/portable_model.py` (no pickles).

A portable model is a JSON spec of plain numbers and names plus, for boosted models, LightGBM's
own text file; MLflow logs them with `portable_model.py` as a pyfunc model that loads and predicts
with numpy, pandas and lightgbm only. The conversion reads the fitted attributes by duck typing,
so a scorer only has to look like one of the known shapes:

- boosted (`booster_`, `features_`, `categories_`, `best_iteration_`, optional `calibrator_`);
- a monotone rule of one feature (`iso_`: a fitted IsotonicRegression; a churn RuleScorer);
- one column as the score (`column`);
- a segmenter (`scaler_`, `kmeans_`, `cluster_names_`, `features`, `log_scale`);
- a blend of a boosted model and a rule (`model`, `baseline`; for churn `model_ranks_`,
  `baseline_ranks_`, `calibrator_`);
- any of these with its forecast multiplied by a factor (`inner`, `factor`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.errors import PortableModelError
from segml.models.baselines import ContractTenureRule, RunRate, SbgScorer

FORMAT = "segml-portable/1"
CODE_FILE = Path(__file__).with_name("portable_model.py")
ATTRIBUTE_PREFIX = "attr_"  # customer attributes (region, age band, gender, ...): never in examples
MISSING_ATTRIBUTE = ""  # not a known level: the model treats it as missing


@dataclass(frozen=True)
class Portable:
    spec: dict  # JSON-ready
    booster_text: str | None  # LightGBM model file, for kind "lightgbm"
    requirements: tuple[str, ...]  # packages the pyfunc imports besides mlflow

    @property
    def features(self) -> list[str]:
        return list(self.spec["features"]) if "features" in self.spec else [self.spec["feature"]]


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float).ravel()]


def _calibrator(calibrator: Any) -> dict:
    if calibrator is None:
        return {"kind": "none"}
    if hasattr(
        calibrator, "X_thresholds_"
    ):  # scikit-learn IsotonicRegression(out_of_bounds="clip")
        return {
            "kind": "isotonic",
            "x": _floats(calibrator.X_thresholds_),
            "y": _floats(calibrator.y_thresholds_),
        }
    if hasattr(calibrator, "lr_"):  # segml's Platt scaling: logistic regression on the log-odds
        return {
            "kind": "platt",
            "coef": float(calibrator.lr_.coef_.ravel()[0]),
            "intercept": float(calibrator.lr_.intercept_.ravel()[0]),
        }
    raise PortableModelError(
        f"calibrator {type(calibrator).__name__} has no portable form: "
        "add one to segml/model_export.py and segml/portable_model.py"
    )


def _boosted(model: Any) -> Portable:
    probability = hasattr(model, "predict_proba")
    spec = {
        "format": FORMAT,
        "kind": "lightgbm",
        "output": "probability" if probability else "value",
        "features": list(model.features_),
        "categories": {c: [str(v) for v in levels] for c, levels in model.categories_.items()},
        "num_iteration": int(model.best_iteration_),
        "calibrator": _calibrator(getattr(model, "calibrator_", None)),
        "clip": [0.0, 1.0] if probability else None,
    }
    text = model.booster_.model_to_string(num_iteration=int(model.best_iteration_))
    return Portable(spec, text, ("lightgbm", "numpy", "pandas"))


def _monotone_rule(model: Any) -> Portable:
    iso = model.iso_
    spec = {
        "format": FORMAT,
        "kind": "piecewise_linear",
        "output": "probability",
        "feature": getattr(model, "feature", "recency_days"),
        "x": _floats(iso.X_thresholds_),
        "y": _floats(iso.y_thresholds_),
        "tie_break_slope": float(getattr(model, "tie_break_slope", 1e-9)),
        "clip": [0.0, 1.0],
    }
    return Portable(spec, None, ("numpy", "pandas"))


def _column(model: Any) -> Portable:
    # a spend baseline: the column itself, never below zero (segml.models.scorers.RuleScorer, calibrate=False)
    spec = {
        "format": FORMAT,
        "kind": "column",
        "output": "value",
        "feature": str(model.feature),
        "clip": [0.0, None],
    }
    return Portable(spec, None, ("numpy", "pandas"))


def _segmenter(model: Any) -> Portable:
    names = {
        int(c): {"persona": n[0], "persona_en": n[1], "persona_zh": n[2]}
        for c, n in model.cluster_names_.items()
    }
    spec = {
        "format": FORMAT,
        "kind": "nearest_center",
        "output": "segment",
        "features": list(model.features),
        "log_scale": bool(model.log_scale),
        "mean": _floats(model.scaler_.mean_),
        "scale": _floats(model.scaler_.scale_),
        "centers": np.asarray(model.kmeans_.cluster_centers_, dtype=float).tolist(),
        "names": [names[c] for c in range(len(names))],
    }
    return Portable(spec, None, ("numpy", "pandas"))


def _blend(model: Any) -> Portable:
    parts = [to_portable(model.model), to_portable(model.baseline)]
    probability = hasattr(model, "predict_proba")
    spec = {
        "format": FORMAT,
        "kind": "blend",
        "output": "probability" if probability else "value",
        "features": list(dict.fromkeys([*parts[0].features, *parts[1].features])),
        "parts": [p.spec for p in parts],
    }
    if probability:  # the mean of the parts' percentile ranks, calibrated
        spec.update(
            ranks=[
                [_floats(table[0]), _floats(table[1])]
                for table in (model.model_ranks_, model.baseline_ranks_)
            ],
            calibrator=_calibrator(model.calibrator_),
            tie_break_slope=1e-9 if model.calibrator_ is not None else 0.0,
            clip=[0.0, 1.0],
        )
    else:  # the mean of the two forecasts
        spec["clip"] = [0.0, None]
    texts = [p.booster_text for p in parts if p.booster_text is not None]
    return Portable(spec, texts[0] if texts else None, parts[0].requirements)


def _scaled(model: Any) -> Portable:
    inner = to_portable(model.inner)
    return Portable(
        {**inner.spec, "total_factor": float(model.factor)}, inner.booster_text, inner.requirements
    )


def _subscriber_baseline(model: Any) -> Portable:
    """Subscribers' baselines (segml.models.baselines): a table of rates, the sBG's parameters
    per contract term, or the run rate (the monthly fee x the window)."""
    spec = {"format": FORMAT, "output": "probability", "features": list(model.features_)}
    if isinstance(model, ContractTenureRule):
        spec |= {
            "kind": "lookup",
            "bands": list(model.bands),
            "cells": [[c, b, r] for (c, b), r in model.rates_.items()],
            "terms": [[c, r] for c, r in model.term_rate_.items()],
            "overall": model.overall_,
        }
    elif isinstance(model, SbgScorer):
        spec |= {
            "kind": "sbg",
            "horizon_days": int(model.horizon_days),
            "terms": [[t, _floats(p)] for t, p in model.params_.items()],
            "pooled": _floats(model.pooled_),
        }
    else:  # the run rate: the monthly fee x the window (+ the purchases' pace, with both exports)
        fee, *purchases = model.features_
        factors = {fee: model.horizon_days / s.DAYS_PER_MONTH}
        factors |= {column: model.horizon_days / 90 for column in purchases}  # last 90 days'
        parts = [
            {"kind": "column", "output": "value", "feature": column, "clip": [0.0, None]}
            | {"total_factor": factor}
            for column, factor in factors.items()
        ]
        spec = {"format": FORMAT, **parts[0]}
        if len(parts) > 1:
            spec = {
                "format": FORMAT,
                "kind": "sum",
                "output": "value",
                "features": list(factors),
                "parts": parts,
            }
    return Portable(spec, None, ("numpy", "pandas"))


def to_portable(model: Any) -> Portable:
    """The portable form of a fitted segml scorer or segmenter (see the module docstring)."""
    if hasattr(model, "inner") and hasattr(model, "factor"):
        return _scaled(model)
    if hasattr(model, "model") and hasattr(model, "baseline"):
        return _blend(model)
    if hasattr(model, "booster_"):
        return _boosted(model)
    if hasattr(model, "kmeans_"):
        return _segmenter(model)
    if hasattr(model, "iso_"):
        return _monotone_rule(model)
    if hasattr(model, "feature"):
        return _column(model)
    if isinstance(model, (ContractTenureRule, SbgScorer, RunRate)):
        return _subscriber_baseline(model)
    raise PortableModelError(
        f"{type(model).__name__} has no portable form: add a converter to "
        "segml/model_export.py (and its kind to segml/portable_model.py)"
    )


def input_example(portable: Portable, snapshot: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """A few rows of the model's input columns only: no customer id, and no attribute values.

    MLflow schemas have no categorical type, so categories travel as text; attribute columns keep
    their type but carry a value no customer has (the model reads it as missing). Integer counts
    are sent as floats, so that new data with a missing count still passes the schema.
    """
    example = snapshot.loc[:, portable.features].head(rows).reset_index(drop=True)
    for column in example.columns:
        if column.startswith(ATTRIBUTE_PREFIX):  # a typed one (number, yes/no, days): NaN
            numeric = pd.api.types.is_numeric_dtype(example[column])
            example[column] = np.nan if numeric else MISSING_ATTRIBUTE
        elif isinstance(example[column].dtype, pd.CategoricalDtype):
            example[column] = (
                example[column].astype(object).where(example[column].notna(), None).astype(str)
            )
        elif pd.api.types.is_integer_dtype(example[column]) or pd.api.types.is_bool_dtype(
            example[column]
        ):
            example[column] = example[column].astype(float)
    return example


def signature(portable: Portable, example: pd.DataFrame, output):
    """The logged model's signature, declared (not inferred) from the input example and the
    reference output.

    Numbers are doubles, so a count with a missing value passes. Category columns (levels in the
    spec: attributes, categorical features) accept any value: text, None or a pandas categorical
    as the feature snapshot holds it; MLflow's schema has no categorical type, and its `string`
    refuses a categorical column ("Can not safely convert category to <U0"). An integer output
    column (the segment) is declared as one, rather than inferred with MLflow's hint about missing
    integers, which concerns inputs."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema, TensorSpec

    categories = set(portable.spec.get("categories", {}))
    inputs = Schema(
        [
            ColSpec(
                AnyType()
                if column in categories
                else "double"
                if pd.api.types.is_numeric_dtype(example[column])
                else "string",
                column,
            )
            for column in example.columns
        ]
    )
    if isinstance(output, pd.DataFrame):
        outputs = Schema(
            [
                ColSpec(
                    "long"
                    if pd.api.types.is_integer_dtype(output[column])
                    else "double"
                    if pd.api.types.is_numeric_dtype(output[column])
                    else "string",
                    column,
                )
                for column in output.columns
            ]
        )
    else:
        outputs = Schema([TensorSpec(np.dtype("float64"), (-1,))])
    return ModelSignature(inputs=inputs, outputs=outputs)


def reference_output(model: Any, example: pd.DataFrame):
    """What the segml object itself predicts on the example (signature, and the portability check)."""
    if hasattr(model, "kmeans_"):
        return model.assign(example.assign(**{s.CUSTOMER_ID: ""})).drop(columns=s.CUSTOMER_ID)
    if hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(example), dtype=float)
    return np.asarray(model.predict(example), dtype=float)
