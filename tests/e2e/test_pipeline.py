"""End to end: the real pipeline (real DVC repo, real sqlite MLflow store, real LightGBM and KMeans)
on small generated data in temporary projects. Each test builds what it needs from fixtures (the
demo project, a copy of it, or a module's history of runs), so any order or subset passes."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from tests.e2e.project import ENV, NO_PREVIOUS, SEGML, copy_project, sh, stages_run

pytestmark = pytest.mark.slow
ANOTHER_PERIOD = "as_of=2025-11-30"


@pytest.fixture(scope="module")
def history(demo_project, tmp_path_factory):
    """A copy of the demo project run three more times, as a data scientist would: the churn model
    forced into production, then another period (a month earlier), then that period again."""
    root = copy_project(demo_project, tmp_path_factory.mktemp("history") / "project")
    runs = {
        "forced model": sh([*SEGML, "run", NO_PREVIOUS, "churn.scorer=model"], root),
        "another period": sh([*SEGML, "run", ANOTHER_PERIOD], root),
        "same period again": sh([*SEGML, "run", ANOTHER_PERIOD], root),
    }
    return root, runs


def test_exports_hold_the_promised_columns(demo_project):
    root = demo_project
    table = pd.read_parquet(root / "exports" / "tiers.parquet")
    for column in (
        "customer_id",
        "segment",
        "churn_probability",
        "predicted_value",
        "current_value",
        "tier",
        "lifecycle_status",
        "as_of",
    ):
        assert column in table, column
    assert table["customer_id"].is_unique and len(table) > 1000
    # the demo's prospects (in the customer file, never bought) are listed with a status, no tier
    bought = table["tier"].notna()
    statuses = table.loc[~bought].set_index("customer_id")["lifecycle_status"]
    assert set(statuses) <= {"never_bought", "only_refunds", "all_rows_rejected"}
    assert (statuses[statuses.index.str.startswith("P")] == "never_bought").all()
    table = table[bought]
    assert set(table["tier"]) <= {"A", "B", "C"}
    assert set(table["lifecycle_status"]) <= {"new", "active", "at_risk", "lost"}
    assert table["churn_probability"].between(0, 1).all()
    raw = (root / "exports" / "tiers.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel shows Chinese correctly
    csv = pd.read_csv(
        root / "exports" / "tiers.csv", encoding="utf-8-sig", dtype={"customer_id": str}
    )
    assert csv["customer_id"].str.len().eq(7).all()  # leading zeros survive
    assert csv.loc[csv["tier"].notna(), "persona_zh"].notna().all()


def test_rejected_rows_and_quality_metrics_are_kept(demo_project):
    root = demo_project
    rejected = pd.read_parquet(root / "data" / "prepared" / "rejected.parquet")
    assert {"reject_reason", "source_row", "source_file"} <= set(rejected.columns)
    assert rejected["reject_reason"].notna().all() and len(rejected) > 0


def test_mlflow_holds_the_run_with_metrics_and_models(demo_project):
    root = demo_project
    with sqlite3.connect(root / "mlflow.db") as db:
        runs = db.execute("select run_uuid from runs where status = 'FINISHED'").fetchall()
        metrics = {k for (k,) in db.execute("select distinct key from metrics")}
        versions = db.execute("select name, version from model_versions").fetchall()
        aliases = db.execute(
            "select name from registered_model_aliases where alias = 'champion'"
        ).fetchall()
    assert len(runs) >= 1
    assert {
        "churn.model.roc_auc",
        "churn.baseline_recency.roc_auc",
        "upside.model.normalized_gini",
        "upside.baseline_last_period.normalized_gini",
    } <= metrics
    assert {name for name, _ in versions} == {"segml-churn", "segml-upside", "segml-segmenter"}
    assert len(aliases) == 3


def test_second_repro_does_nothing(demo_project):
    root = demo_project
    result = sh([sys.executable, "-m", "dvc", "repro"], root)
    assert "Running stage" not in result.stdout
    assert "up to date" in result.stdout


def test_same_data_and_config_give_byte_identical_tier_table(demo_project, project_copy):
    sh([*SEGML, "run", "--force", NO_PREVIOUS], project_copy)
    for name in ("tiers.parquet", "tiers.csv"):
        assert (project_copy / "exports" / name).read_bytes() == (
            demo_project.parent / "first_run" / name
        ).read_bytes(), name


def test_score_reproduces_the_pipeline_tier_table(demo_project):
    """`segml score` with the champion models on the pipeline's own data gives its exact tier table,
    built and graded with the churn window the models were trained for (not conf/labels')."""
    root = demo_project
    pipeline = pd.read_parquet(root / "exports" / "tiers.parquet")
    out = root.parent / "scored"
    result = sh(
        [
            *SEGML,
            "score",
            "--input",
            "data/raw/transactions.csv",
            "--customers",
            "data/raw/customers.csv",
            "--as-of",
            pipeline["as_of"].iloc[0],
            "--out",
            str(out),
            NO_PREVIOUS,  # the same settings as the pipeline run
            "labels.horizon_days=60",  # a training setting: the models' own window is used
        ],
        root,
    )
    pd.testing.assert_frame_equal(pd.read_parquet(out / "tiers.parquet"), pipeline)
    # the note, on stderr where the console writes
    assert "predict 90 days ahead" in " ".join(result.stderr.split())
    assert (out / "tiers.xlsx").exists() and (out / "rejected.parquet").exists()
    # the same exports as the pipeline: the report too, with the training run's model quality
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "ROC AUC" in report and "plotly" in report.lower()


def test_score_refuses_a_model_whose_features_differ(demo_project):
    root = demo_project
    result = subprocess.run(
        [
            *SEGML,
            "score",
            "--input",
            "data/raw/transactions.csv",
            "--out",
            str(root.parent / "mismatch"),
            "features.windows_days=[30,90]",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert result.returncode == 2
    message = " ".join((result.stdout + result.stderr).split())
    assert "expects columns missing from the data" in message and "spend_365d" in message


def test_notebook_runs_on_the_outputs(demo_project):
    import nbformat
    from nbclient import NotebookClient

    root = demo_project
    notebook = nbformat.read(ROOT / "notebooks" / "01-explore-tiers.ipynb", as_version=4)
    os.environ["SEGML_PROJECT"] = str(root)
    try:
        NotebookClient(
            notebook,
            timeout=300,
            kernel_name="python3",
            resources={"metadata": {"path": str(root)}},
        ).execute()
    finally:
        del os.environ["SEGML_PROJECT"]
    text = "".join(
        str(o.get("text", "")) + str(o.get("data", {}))
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "customers as of" in text and "churn_probability" in text


def test_stale_params_are_refused_by_plain_dvc_repro(project_copy):
    path = project_copy / "conf" / "churn" / "default.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("calibration: auto", "calibration: none"), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "dvc", "repro", "--force", "--single-item", "train"],
        cwd=project_copy,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert result.returncode != 0
    assert "out of date" in result.stdout + result.stderr


def test_churn_setting_reruns_training_not_features(history):
    _, runs = history
    # forcing the model changes the production scorer (small data is graded C and scored by a rule)
    assert stages_run(runs["forced model"]) == {"train", "tier", "export"}


def test_another_period_shows_movement_against_the_pinned_previous_one(history):
    """Grading another period (here as of a month earlier) compares with the last accepted run of
    another period, pinned in params.yaml; a rerun of the same period keeps the pin, so nothing
    reruns."""
    root, runs = history
    assert "tier" in stages_run(runs["another period"])
    pinned = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["tiering"][
        "previous_ref"
    ]
    assert pinned.startswith("run:")
    book = openpyxl.load_workbook(root / "exports" / "tiers.xlsx", read_only=True)
    rows = list(book["movement"].values)
    assert any("Transition matrix" in str(cell) for row in rows for cell in row if cell)
    table = pd.read_parquet(root / "exports" / "tiers.parquet")
    assert {"previous_tier", "tier_change"} <= set(table.columns)
    assert (table["tier_change"] != "same").any()
    report = (root / "exports" / "report.html").read_text(encoding="utf-8")
    # the report names the period compared with
    assert "2025-12-31 · MLflow run " + pinned[4:12] in report
    assert not stages_run(runs["same period again"])  # same period: same pin, nothing to redo


def test_mlflow_runs_are_comparable_side_by_side(history):
    root, _ = history
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("segml")
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert len(runs) >= 3
    scorers = {r.data.params["churn.scorer"] for r in runs}
    assert {"auto", "model"} <= scorers
    # the backtest means of models and baselines have the same names in every run, whatever the
    # period, settings or scorer in production
    means = ("churn.model.", "churn.baseline_", "upside.model.", "upside.baseline_")
    keys = [{k for k in r.data.metrics if k.startswith(means)} for r in runs]
    assert keys[0] and all(
        k - {"churn.model.best_iteration", "upside.model.best_iteration"}
        == keys[0] - {"churn.model.best_iteration", "upside.model.best_iteration"}
        for k in keys
    )
    for run in runs:
        assert {"segml.git_commit", "segml.data_sha256", "segml.as_of", "segml.data_source"} <= set(
            run.data.tags
        )
        assert run.data.tags["segml.promotion.churn"]
        assert (
            run.data.tags["segml.grade.churn"][0] in "ABC"
            and "folds" in run.data.tags["segml.grade.upside"]
        )


def test_hydra_sweep_records_each_run_in_mlflow(project_copy):
    root = project_copy
    sh([sys.executable, "pipelines/sweep.py", "-m", "segment.k=4,5"], root)
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("segml-sweep")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.params["segment.k"] for r in runs) == ["4", "5"]
    assert all("churn.model.roc_auc" in r.data.metrics for r in runs)
    assert list(
        (root / "logs" / "hydra" / "multirun").iterdir()
    )  # Hydra's folders stay under logs/


def test_dvc_experiment_appears_in_exp_show(project_copy):
    root = project_copy
    git = ["git", "-c", "user.name=segml-test", "-c", "user.email=test@segml.invalid"]
    sh([*git, "add", "-A"], root)
    sh([*git, "commit", "-qm", "baseline"], root)
    sh(
        [sys.executable, "-m", "dvc", "exp", "run", "-n", "five-segments", "-S", "segment.k=5"],
        root,
    )
    shown = sh([sys.executable, "-m", "dvc", "exp", "show", "--no-pager", "--csv"], root).stdout
    rows = list(csv.DictReader(io.StringIO(shown)))
    assert "model.roc_auc" in rows[0] and "segment.k" in rows[0]
    experiment = next(r for r in rows if r["Experiment"] == "five-segments")
    assert experiment["segment.k"] == "5" and float(experiment["model.roc_auc"]) > 0.5
