"""MLflow at the edge: a real sqlite store; portable models that load without segml; the champion
alias moves only on improvement; run names, tables and movement honour pseudonymisation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segml.config import ExportConfig, TrackingConfig, compose, to_typed
from segml.errors import PortableModelError
from segml.models.scorers import ChurnModel, RuleScorer, UpsideModel
from segml.models.segment import Segmenter
from segml.reporting import model_export as mx
from segml.reporting import tracking
from segml.reporting.privacy import pseudonymize
from tests.conftest import ROOT

# where things live inside a run, as conf/paths says
FILES = to_typed(compose(conf_dir=ROOT / "conf")).paths.in_mlflow_run
SEGMENT_FEATURES = ["recency_days", "frequency", "monetary_total"]


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    """600 customers with numeric features, one attribute and labels that depend on them."""
    rng = np.random.default_rng(3)
    n = 600
    recency = rng.integers(0, 400, n).astype(float)
    frequency = rng.integers(1, 30, n)
    monetary = rng.gamma(2.0, 300.0, n)
    frame = pd.DataFrame(
        {
            "customer_id": np.char.zfill(np.arange(1, n + 1).astype(str), 7),
            "recency_days": recency,
            "frequency": frequency,
            "monetary_total": monetary,
            "spend_90d": monetary * rng.uniform(0, 0.5, n),
            "attr_region": pd.Categorical(rng.choice(["华东", "华南", "华北"], n)),
        }
    )
    frame["churned"] = (rng.uniform(0, 1, n) < 1 / (1 + np.exp(-(recency - 200) / 60))).astype(int)
    frame["future_value"] = np.where(
        frame["churned"] == 1, 0.0, monetary * rng.uniform(0.1, 0.6, n)
    )
    return frame


@pytest.fixture(scope="module")
def fitted(features) -> dict:
    small = {"n_estimators": 60, "early_stopping_rounds": 10}
    params = {"num_leaves": 7, "min_child_samples": 20, "learning_rate": 0.1}
    return {
        "churn_isotonic": ChurnModel(params, calibration="isotonic", **small).fit(features),
        "churn_platt": ChurnModel(params, calibration="platt", **small).fit(features),
        "upside": UpsideModel(params, **small).fit(features),
        "segmenter": Segmenter(SEGMENT_FEATURES, k=3, n_init=2, personas={}).fit(features),
        "recency_rule": RuleScorer("recency_days", "baseline_recency").fit(
            features, features["churned"]
        ),
        "last_spend": RuleScorer("spend_90d", "baseline_last_period", calibrate=False).fit(
            features
        ),
    }


def test_flatten_gives_readable_keys():
    assert tracking.flatten({"churn": {"model": {"roc_auc": 0.9}}, "seed": 1}) == {
        "churn.model.roc_auc": 0.9,
        "seed": 1,
    }


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
            uris[name] = tracking._log_model(mlflow, name, model, rows, FILES).model_uri
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


def test_champion_moves_as_a_set_only_when_the_challenge_is_won(
    tmp_path, monkeypatch, fitted, features
):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rule = fitted["recency_rule"]
    the_set = {
        "churn": (rule, features),
        "upside": (fitted["upside"], features),
        "segmenter": (fitted["segmenter"], features),
    }

    def log(auc: float, k: int, wins: bool) -> dict:
        return tracking.log_pipeline_run(
            uri,
            "segml-test",
            params={
                "churn": {"params": {"num_leaves": k}},
                "export": {"headers": {"a": "b"}},
                "paths": {"raw_dir": f"data/{k}"},
                "labels": {"horizon_days": 90},
            },
            metrics={"churn": {"model": {"roc_auc": auc, "calibration": "none"}}},
            tags={"segml.as_of": "2025-12-31"},
            models=the_set,
            artifacts={},
            register=True,
            auto_promote=True,
            files=FILES,
            overrides=[f"churn.params.num_leaves={k}"],
            promote=(wins, f"challenge {k}"),
        )

    first, worse, better = log(0.80, 31, True), log(0.70, 15, False), log(0.85, 63, True)
    assert all(d.startswith("promoted v1 with its set") for d in first["promotion"].values())
    assert all(
        "kept the champion set: this run challenge 15" in d for d in worse["promotion"].values()
    )
    assert better["promotion"]["churn"].startswith("promoted v3")

    import mlflow

    client = mlflow.MlflowClient(uri)
    # the three models of one run are champion together: never a mix of runs
    champions = {
        name: client.get_model_version_by_alias(f"segml-{name}", "champion") for name in the_set
    }
    assert {int(v.version) for v in champions.values()} == {3} and len(
        {v.run_id for v in champions.values()}
    ) == 1
    loaded, horizon = tracking.load_champion_set(uri, FILES)
    assert horizon == 90 and set(loaded) == {"churn", "upside"}
    run = client.get_run(worse["run_id"])
    assert run.data.params["churn.params.num_leaves"] == "15"
    assert "export.headers.a" not in run.data.params  # long text tables stay in params.yaml
    assert run.data.metrics["churn.model.roc_auc"] == 0.70
    assert "kept the champion set" in run.data.tags["segml.promotion.churn"]
    assert run.data.tags["override.churn.params.num_leaves"] == "15"
    # names say what differs: same date, a digest per setting (paths do not count)
    names = [r["run_name"] for r in (first, worse, better)]
    assert len(set(names)) == 3 and all(n.startswith("2025-12-31 · ") for n in names)
    assert tracking.config_digest({"churn": 1, "paths": "a"}) == tracking.config_digest(
        {"churn": 1, "paths": "b"}
    )
    loaded = tracking.load_registered(
        uri, "churn", FILES, "champion"
    )  # the segml object, for `segml score`
    assert isinstance(loaded, RuleScorer)
    np.testing.assert_array_equal(loaded.predict_proba(features), rule.predict_proba(features))
    portable = tracking.load_portable(uri, "churn", "1")
    example = mx.input_example(mx.to_portable(rule), features)
    np.testing.assert_allclose(portable.predict(example), rule.predict_proba(example), atol=1e-12)


def tier_table(n: int = 300) -> pd.DataFrame:
    ids = pd.Series(np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    tiers = np.array(["A", "B", "C"])[np.arange(n) % 3]
    return pd.DataFrame(
        {
            "customer_id": ids,
            "tier": tiers,
            "tier_abc": tiers,
            "tier_pyramid": "lead",
            "vp_cell": "low_low",
            "lifecycle_status": "active",
            "persona": "loyal",
            "attr_region": "华东",
            "current_value": np.arange(n, dtype=float),
        }
    )


def test_run_tables_sample_counts_and_pseudonymised_movement_base():
    tiers = tier_table()
    export_cfg = ExportConfig(
        pseudonymize_ids=True, columns=["customer_id", "tier", "current_value"]
    )
    exported = tiers[export_cfg.columns].assign(
        customer_id=pseudonymize(tiers["customer_id"], "pepper")
    )
    tables = tracking.run_tables(
        exported, tiers, export_cfg, TrackingConfig(sample_rows=20), "pepper", FILES
    )
    assert set(tables) == {
        "tables/tiers_sample.csv",
        "tables/tier_counts.csv",
        "tables/tier_ids.parquet",
    }
    sample, base = tables["tables/tiers_sample.csv"], tables["tables/tier_ids.parquet"]
    assert len(sample) == 20 and list(sample.columns) == export_cfg.columns
    clear = set(tiers["customer_id"])
    assert not clear & set(sample["customer_id"]) and not clear & set(base["customer_id"])
    assert list(base.columns) == ["customer_id", "tier"]  # only the allowed tier columns
    everything = tracking.run_tables(
        exported, tiers, ExportConfig(pseudonymize_ids=True), TrackingConfig(), "pepper", FILES
    )
    assert list(everything["tables/tier_ids.parquet"].columns) == [
        "customer_id",
        "tier",
        "tier_abc",
        "tier_pyramid",
        "vp_cell",
    ]
    counts = tables["tables/tier_counts.csv"].query("column == 'tier'")
    assert counts.set_index("value")["customers"].to_dict() == {"A": 100, "B": 100, "C": 100}
    full = tracking.run_tables(
        exported, tiers, export_cfg, TrackingConfig(log_full_table=True), "pepper", FILES
    )
    assert len(full["tables/tiers.parquet"]) == 300
    no_ids = tracking.run_tables(
        exported.drop(columns="customer_id"),
        tiers,
        ExportConfig(columns=["tier"]),
        TrackingConfig(),
        None,
        FILES,
    )
    assert (
        "tables/tier_ids.parquet" not in no_ids
    )  # ids left out of the exports are left out here too


def test_movement_reads_a_pseudonymised_previous_run(tmp_path, monkeypatch):
    """Movement compares pseudonyms: today's ids are matched to last run's with the same salt."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tiers = tier_table(30)
    export_cfg = ExportConfig(pseudonymize_ids=True)
    tables = tracking.run_tables(
        tiers.assign(customer_id=pseudonymize(tiers["customer_id"], "pepper")),
        tiers,
        export_cfg,
        TrackingConfig(),
        "pepper",
        FILES,
    )
    logged = tracking.log_pipeline_run(
        uri,
        "moves",
        params={},
        metrics={},
        models={},
        artifacts={},
        tags={"segml.as_of": "2025-11-30", tracking.ACCEPTED: "true", tracking.PERIOD: "november"},
        register=False,
        auto_promote=False,
        files=FILES,
        tables=tables,
    )
    tracking.log_pipeline_run(
        uri,
        "moves",
        params={},
        metrics={},
        models={},
        artifacts={},
        tables=tables,
        tags={"segml.as_of": "2025-12-31", tracking.ACCEPTED: "false"},  # an experiment
        register=False,
        auto_promote=False,
        files=FILES,
    )
    december = tracking.log_pipeline_run(
        uri,
        "moves",
        params={},
        metrics={},
        models={},
        artifacts={},
        tables=tables,
        tags={"segml.as_of": "2025-12-31", tracking.ACCEPTED: "true", tracking.PERIOD: "december"},
        register=False,
        auto_promote=False,
        files=FILES,
    )
    # rerunning December compares with November: never with an experiment, nor with itself
    ref = tracking.previous_ref("accepted", uri, "moves", period="december")
    assert ref == f"run:{logged['run_id']}"
    assert (
        tracking.previous_ref("accepted", uri, "moves", period="january")
        == f"run:{december['run_id']}"
    )
    current = tiers["customer_id"].iloc[5:]  # five customers left, the rest are still here
    previous, period = tracking.previous_tiers("accepted", ref, uri, FILES, current, "pepper")
    assert period.startswith("2025-11-30")
    assert set(current) <= set(previous["customer_id"])
    assert previous.set_index("customer_id").loc["0000010", "tier_abc"] == tiers.loc[9, "tier_abc"]
    left = set(previous["customer_id"]) - set(current)
    assert len(left) == 5 and not left & set(tiers["customer_id"])  # those stay pseudonyms
    # under another salt (or none) no customer matches: no movement rather than everyone "new"
    assert tracking.previous_tiers("accepted", ref, uri, FILES, current, "paprika") == (None, None)
    assert tracking.previous_tiers("accepted", ref, uri, FILES, current, None) == (None, None)
    assert tracking.previous_tiers("accepted", None, uri, FILES, current, "pepper") == (
        None,
        None,
    )  # not pinned
