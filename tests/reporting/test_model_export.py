"""Portable models: every scorer shape has a spec, input examples hold no personal data, and what
MLflow logged loads and predicts without segml or scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segml.errors import PortableModelError
from segml.reporting import model_export as mx
from segml.reporting import run_logger
from tests.reporting.conftest import FILES


def test_every_scorer_shape_has_a_portable_form(fitted):
    kinds = {name: mx.to_portable(model).spec["kind"] for name, model in fitted.items()}
    assert kinds == {
        "churn_isotonic": "lightgbm",
        "churn_platt": "lightgbm",
        "upside": "lightgbm",
        "segmenter": "nearest_center",
        "recency_rule": "piecewise_linear",
        "last_spend": "column",
    }
    assert mx.to_portable(fitted["churn_isotonic"]).spec["calibrator"]["kind"] == "isotonic"
    assert mx.to_portable(fitted["churn_platt"]).spec["calibrator"]["kind"] == "platt"
    json.dumps([mx.to_portable(m).spec for m in fitted.values()])  # plain JSON, no objects
    with pytest.raises(PortableModelError, match="model_export.py"):
        mx.to_portable(object())


def test_input_examples_hold_no_id_and_no_attribute_value(fitted, features):
    for model in fitted.values():
        example = mx.input_example(mx.to_portable(model), features)
        assert "customer_id" not in example
        assert not set(example.filter(like="attr_").stack()) & {"华东", "华南", "华北"}
    churn_example = mx.input_example(mx.to_portable(fitted["churn_isotonic"]), features)
    assert "attr_region" in churn_example  # the column (and its type) stays in the signature


CLEAN_LOAD = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    # segml is installed editable in this venv: take its source folder off the path, so the
    # models must load from what MLflow logged; scikit-learn must not be needed either.
    sys.path[:] = [p for p in sys.path if not (Path(p or ".") / "segml").is_dir()]
    sys.modules["sklearn"] = None
    try:
        import segml
        sys.exit("segml is importable: the check would prove nothing")
    except ImportError:
        pass
    import mlflow
    mlflow.set_tracking_uri(sys.argv[1])
    out = {}
    for name, uri in json.loads(sys.argv[2]).items():
        model = mlflow.pyfunc.load_model(uri)
        local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
        example = mlflow.models.Model.load(local).load_input_example(local)
        prediction = model.predict(example)
        out[name] = prediction.to_dict("list") if hasattr(prediction, "to_dict") else list(map(float, prediction))
    assert not [m for m in sys.modules if m.split(".")[0] in ("segml", "sklearn") and sys.modules[m]]
    print(json.dumps(out))
""")


@pytest.mark.slow  # a fresh interpreter loading what MLflow logged
def test_logged_models_load_and_predict_without_segml(tmp_path, monkeypatch, fitted, features):
    monkeypatch.chdir(tmp_path)  # artifacts go to ./mlruns
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    models = {name: (model, features) for name, model in fitted.items()}
    uris = {}
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("portable")
    with mlflow.start_run():
        for name, (model, rows) in models.items():
            uris[name] = run_logger._log_model(mlflow, name, model, rows, FILES).model_uri
    clean = subprocess.run(
        [sys.executable, "-I", "-c", CLEAN_LOAD, uri, json.dumps(uris)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    assert clean.returncode == 0, clean.stderr[-3000:]
    predicted = json.loads(clean.stdout.strip().splitlines()[-1])
    for name, model in fitted.items():
        example = mx.input_example(mx.to_portable(model), features)
        expected = mx.reference_output(model, example)
        if isinstance(expected, pd.DataFrame):
            assert predicted[name] == expected.to_dict("list"), name
        else:
            np.testing.assert_allclose(predicted[name], expected, rtol=0, atol=1e-9, err_msg=name)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uris["churn_isotonic"]))
    requirements = (local / "requirements.txt").read_text()
    assert (
        "lightgbm==" in requirements
        and "scikit-learn" not in requirements
        and "segml" not in requirements
    )
    assert not list(local.rglob("*.pkl")) and not list(
        local.rglob("*.cloudpickle")
    )  # no pickle inside


def test_blends_and_scaled_forecasts_have_a_portable_form_that_predicts_the_same(fitted, features):
    import lightgbm

    from segml.models.scorers import ChurnBlend, ScaledScorer, ValueBlend
    from segml.reporting import portable_model

    churn = ChurnBlend(fitted["churn_isotonic"], fitted["recency_rule"]).fit(
        features, features["churned"].to_numpy()
    )
    value = ValueBlend(fitted["upside"], fitted["last_spend"]).fit(features, None)
    for model in (churn, value, ScaledScorer(value, 0.9), ScaledScorer(fitted["upside"], 1.2)):
        portable = mx.to_portable(model)
        json.dumps(portable.spec)
        booster = lightgbm.Booster(model_str=portable.booster_text)
        example = mx.input_example(portable, features, rows=50)
        np.testing.assert_allclose(
            portable_model.predict_spec(portable.spec, example, booster),
            mx.reference_output(model, example),
            rtol=1e-9,
            atol=1e-9,
        )
    assert mx.to_portable(churn).spec["kind"] == "blend"
    assert mx.to_portable(ScaledScorer(value, 0.9)).spec["total_factor"] == 0.9


def test_logged_models_take_the_feature_snapshot_as_it_is_and_log_quietly(
    tmp_path, monkeypatch, fitted, features
):
    """The snapshot's categorical columns go in as they are (MLflow's `string` refused them:
    "Can not safely convert category to <U0"), extra columns are ignored, and logging declares its
    schema: no hint about integer columns, no registry chatter."""
    import warnings

    import mlflow

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("portable")
    # as the snapshot holds them: numbers as floats (features are computed in float), categoricals
    snapshot = features.astype({"frequency": float})
    assert isinstance(snapshot["attr_region"].dtype, pd.CategoricalDtype)
    with warnings.catch_warnings(record=True) as caught, mlflow.start_run() as run:
        warnings.simplefilter("always")
        logged = {
            name: run_logger._log_model(mlflow, name, fitted[name], features, FILES)
            for name in ("churn_isotonic", "segmenter")
        }
    assert not [w for w in caught if "integer column" in str(w.message)]
    for name, info in logged.items():
        predicted = mlflow.pyfunc.load_model(info.model_uri).predict(snapshot)
        if name == "segmenter":
            expected = fitted[name].assign(snapshot)
            assert list(predicted["segment"]) == list(expected["segment"])
        else:
            np.testing.assert_allclose(predicted, fitted[name].predict_proba(snapshot), atol=1e-9)
    assert run.info.run_id


def test_typed_attributes_carry_no_value_in_input_examples_either():
    """A number, a yes/no or a date's days (segml.data.attributes) keep their float type and no
    customer's value."""
    snapshot = pd.DataFrame(
        {
            "recency_days": [3.0, 40.0],
            "attr_company_size": [250.0, 12.0],
            "attr_is_business": [1.0, 0.0],
            "attr_signup_date_days": [420.0, 31.0],
        }
    )
    portable = mx.Portable({"features": list(snapshot.columns)}, None, ())
    example = mx.input_example(portable, snapshot)
    assert example["recency_days"].tolist() == [3.0, 40.0]
    for column in ("attr_company_size", "attr_is_business", "attr_signup_date_days"):
        assert example[column].dtype == float and example[column].isna().all()


def test_the_run_rate_with_purchases_has_a_portable_form_that_predicts_the_same():
    """With both exports the subscribers' run rate adds their purchases' pace: its portable
    form sums two columns, each at its own factor (a one-column spec could not hold it)."""
    from segml.models.baselines import PURCHASES_90D, RunRate
    from segml.models.scorers import ScaledScorer
    from segml.reporting import portable_model

    frame = pd.DataFrame({"mrr": [30.0, 0.0, 55.5], PURCHASES_90D: [90.0, 12.0, 0.0]})
    for model in (RunRate(90).fit(frame), ScaledScorer(RunRate(60).fit(frame), 0.9)):
        portable = mx.to_portable(model)
        json.dumps(portable.spec)
        assert set(portable.features) == {"mrr", PURCHASES_90D}
        example = mx.input_example(portable, frame)
        np.testing.assert_allclose(
            portable_model.predict_spec(portable.spec, example), mx.reference_output(model, example)
        )
    fees_only = mx.to_portable(RunRate(90).fit(frame[["mrr"]])).spec
    assert fees_only["kind"] == "column" and fees_only["feature"] == "mrr"
