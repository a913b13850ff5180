"""Logging a run to MLflow (a real sqlite store): readable params, run names by setting, the tables
a run logs under the export's privacy settings, and the champion alias moving as a set only when
the challenge is won (read back through run_history)."""

from __future__ import annotations

import copy

import numpy as np

from segml.config import ExportConfig, TrackingConfig
from segml.models.scorers import RuleScorer
from segml.reporting import model_export as mx
from segml.reporting import run_history, run_logger
from segml.reporting.privacy import pseudonymize
from tests.reporting.conftest import FILES, tier_table


def test_flatten_gives_readable_keys():
    assert run_logger.flatten({"churn": {"model": {"roc_auc": 0.9}}, "seed": 1}) == {
        "churn.model.roc_auc": 0.9,
        "seed": 1,
    }


def test_champion_moves_as_a_set_only_when_the_challenge_is_won(
    tmp_path, monkeypatch, capfd, fitted, features
):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    rule = fitted["recency_rule"]
    the_set = {
        "churn": (rule, features),
        "upside": (fitted["upside"], features),
        "segmenter": (fitted["segmenter"], features),
    }

    def log(auc: float, k: int, wins: bool, models: dict = the_set) -> dict:
        return run_logger.log_pipeline_run(
            uri,
            "segml-test",
            params={
                "churn": {"params": {"num_leaves": k}},
                "export": {"headers": {"a": "b"}},
                "paths": {"raw_dir": f"data/{k}"},
                "labels": {"horizon_days": 90},
            },
            metrics={
                "churn": {"model": {"roc_auc": auc, "calibration": "none"}},
                "data_quality": {"rows_rejected": 3},
            },
            tags={"segml.as_of": "2025-12-31"},
            models=models,
            artifacts={},
            register=True,
            auto_promote=True,
            files=FILES,
            overrides=[f"churn.params.num_leaves={k}"],
            promote=(wins, f"challenge {k}"),
        )

    # the third set's scorers carry the churn window they were trained for (train sets it)
    stamped = {name: (copy.copy(model), rows) for name, (model, rows) in the_set.items()}
    for name in ("churn", "upside"):
        stamped[name][0].horizon_days_ = 60
    capfd.readouterr()
    first, worse = log(0.80, 31, True), log(0.70, 15, False)
    better = log(0.85, 63, True, stamped)
    printed = capfd.readouterr()
    # registering is quiet: no "Successfully registered model" / "already exists. Creating a new
    # version" / "Created version" lines on the console at every run
    assert "registered model" not in (printed.out + printed.err).lower()
    assert "created version" not in (printed.out + printed.err).lower()
    assert all(d.startswith("promoted v1 with its set") for d in first["promotion"].values())
    assert all("kept the champion set: challenge 15" in d for d in worse["promotion"].values())
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
    # the champion's own record, read once: its period, and the window its scorers carry (the
    # set's, not the run's param)
    found = run_history.load_model_set(uri, FILES)
    assert found.horizon_days == 60 and found.as_of == "2025-12-31" and found.version == "3"
    assert set(found.models) == {"churn", "upside"}
    assert found.describe()["en"].startswith("registered model set v3 (champion), trained on")
    # a set registered before scorers carried it: the window its run logged
    assert run_history.load_registered(uri, "upside", FILES, "1").horizon_days_ == 90
    run = client.get_run(worse["run_id"])
    assert run.data.params["churn.params.num_leaves"] == "15"
    assert run.data.params["as_of"] == "2025-12-31"  # the date graded, not "None"
    # the UI opens the experiment on its runs (not the GenAI traces page)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert "export.headers.a" not in run.data.params  # long text tables stay in params.yaml
    assert run.data.metrics["churn.model.roc_auc"] == 0.70
    assert run.data.metrics["data_quality.rows_rejected"] == 3
    # each model's view in the UI shows its own metrics, not the run's others
    linked = {
        output.model_id: {m.key for m in client.get_logged_model(output.model_id).metrics or []}
        for output in run.outputs.model_outputs
    }
    assert sorted(map(sorted, linked.values())) == [[], [], ["churn.model.roc_auc"]]
    assert "kept the champion set" in run.data.tags["segml.promotion.churn"]
    assert run.data.tags["override.churn.params.num_leaves"] == "15"
    # names say what differs: same date, a digest per setting (paths do not count)
    names = [r["run_name"] for r in (first, worse, better)]
    assert len(set(names)) == 3 and all(n.startswith("2025-12-31 · ") for n in names)
    assert run_logger.config_digest({"churn": 1, "paths": "a"}) == run_logger.config_digest(
        {"churn": 1, "paths": "b"}
    )
    loaded = run_history.load_registered(
        uri, "churn", FILES, "champion"
    )  # the segml object, for `segml score`
    assert isinstance(loaded, RuleScorer)
    np.testing.assert_array_equal(loaded.predict_proba(features), rule.predict_proba(features))
    portable = run_history.load_portable(uri, "churn", "1")
    example = mx.input_example(mx.to_portable(rule), features)
    np.testing.assert_allclose(portable.predict(example), rule.predict_proba(example), atol=1e-12)


def test_run_tables_sample_counts_and_pseudonymised_movement_base():
    tiers = tier_table()
    export_cfg = ExportConfig(
        pseudonymize_ids=True, columns=["customer_id", "tier", "current_value"]
    )
    exported = tiers[export_cfg.columns].assign(
        customer_id=pseudonymize(tiers["customer_id"], "pepper")
    )
    tables = run_logger.run_tables(
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
    # only the allowed columns: tiers, value (for movement's why and the audit)
    assert list(base.columns) == ["customer_id", "tier", "current_value"]
    everything = run_logger.run_tables(
        exported, tiers, ExportConfig(pseudonymize_ids=True), TrackingConfig(), "pepper", FILES
    )
    # what later periods read: grades, status and value (the tier table's scores and features
    # when it has them)
    assert list(everything["tables/tier_ids.parquet"].columns) == [
        "customer_id",
        "tier",
        "tier_abc",
        "tier_pyramid",
        "vp_cell",
        "lifecycle_status",
        "current_value",
    ]
    counts = tables["tables/tier_counts.csv"].query("column == 'tier'")
    assert counts.set_index("value")["customers"].to_dict() == {"A": 100, "B": 100, "C": 100}
    full = run_logger.run_tables(
        exported, tiers, export_cfg, TrackingConfig(log_full_table=True), "pepper", FILES
    )
    assert len(full["tables/tiers.parquet"]) == 300
    no_ids = run_logger.run_tables(
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


def test_a_both_projects_parts_are_promoted_each_by_its_own_challenge(
    tmp_path, monkeypatch, fitted, features
):
    """data.kind both: each part's set (segml-subscriptions-churn, ...) moves to champion by its
    part's decision alone, and is read back as that part's champion set."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    parts = ("subscriptions", "transactions")
    models = {
        f"{part}_{name}": (model, features)
        for part in parts
        for name, model in (
            ("churn", fitted["recency_rule"]),
            ("upside", fitted["upside"]),
            ("segmenter", fitted["segmenter"]),
        )
    }

    def log(as_of: str, promote: dict) -> dict:
        return run_logger.log_pipeline_run(
            uri,
            "segml-test",
            params={"labels": {"horizon_days": 90}},
            metrics={},
            tags={"segml.as_of": as_of},
            models=models,
            artifacts={},
            register=True,
            auto_promote=True,
            files=FILES,
            promote=promote,
        )

    first = log("2025-10-31", {p: (True, "no champion yet") for p in parts})
    second = log(
        "2025-12-31",
        {"subscriptions": (True, "beats the champion"), "transactions": (False, "worse")},
    )
    assert all(d.startswith("promoted v1 with the") for d in first["promotion"].values())
    decided = second["promotion"]
    assert set(decided) == set(models)
    assert decided["subscriptions_churn"] == (
        "promoted v2 with the subscriptions set to champion: beats the champion"
    )
    assert decided["transactions_upside"] == (
        "registered v2; kept the transactions set's champion: worse"
    )
    subscribers = run_history.load_model_set(uri, FILES, part="subscriptions")
    buyers = run_history.load_model_set(uri, FILES, part="transactions")
    assert (subscribers.version, subscribers.as_of) == ("2", "2025-12-31")
    assert (buyers.version, buyers.as_of) == ("1", "2025-10-31")
    assert set(buyers.models) == {"churn", "upside"}
    assert run_history.load_model_set(uri, FILES) is None  # no one-kind set was ever registered


def test_the_champions_models_are_loaded_only_when_a_fold_can_measure_them(
    tmp_path, monkeypatch, cfg, fitted, features
):
    """The export stage's challenge reads the champion's record first: the month after it was
    trained no fold of this run is later than its labels, so its models are never downloaded
    (here they cannot be: their files are gone); with such a fold they are."""
    import dataclasses
    import shutil

    import pytest

    from segml.stages.record import _champion

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_logger.log_pipeline_run(
        uri,
        "segml",
        params={"labels": {"horizon_days": 90}},
        metrics={},
        tags={"segml.as_of": "2025-12-31"},
        models={
            "churn": (fitted["recency_rule"], features),
            "upside": (fitted["upside"], features),
        },
        artifacts={},
        register=True,
        auto_promote=True,
        files=FILES,
        overrides=[],
        promote=(True, "first"),
    )
    shutil.rmtree(tmp_path / "mlruns")  # the models' files: loading them now fails
    run_cfg = dataclasses.replace(cfg, tracking=dataclasses.replace(cfg.tracking, uri=uri))

    def folds(*cutoffs: str) -> dict:
        return {"folds": {str(k): {"cutoff": c} for k, c in enumerate(cutoffs)}}

    earlier = {"churn": folds("2025-10-02", "2025-11-01"), "upside": folds("2025-11-01")}
    champion = _champion(run_cfg, earlier, None)
    assert (champion.models, champion.as_of, champion.horizon_days) == ({}, "2025-12-31", 90)
    later = {"churn": folds("2025-11-01", "2026-01-05"), "upside": folds("2026-01-05")}
    with pytest.raises(Exception):  # a fold after its labels: the models are needed, and read
        _champion(run_cfg, later, None)
