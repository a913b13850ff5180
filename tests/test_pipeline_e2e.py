"""End to end: the real pipeline (real DVC repo, real sqlite MLflow store, real LightGBM and KMeans)
on small generated data in a temporary project."""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import ROOT

pytestmark = pytest.mark.slow
SEGML = [sys.executable, "-m", "segml.app.cli"]
NO_PREVIOUS = "tiering.previous=null"  # byte-identical reruns need no movement columns


# stages run `python ...`, as after `source .venv/bin/activate`
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
}


def sh(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    assert result.returncode == 0, (
        f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


def new_project(root: Path) -> Path:
    for folder in ("conf", "pipelines", "src"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, root / name)
    sh(["git", "init", "-q"], root)
    sh([sys.executable, "-m", "dvc", "init", "-q"], root)
    shutil.copy(ROOT / ".dvc" / "config", root / ".dvc" / "config")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = new_project(tmp_path_factory.mktemp("project"))
    sh([*SEGML, "generate", "--customers", "1500", "--seed", "7"], root)
    first = sh([*SEGML, "run", NO_PREVIOUS], root)
    keep = root.parent / "first_run"
    keep.mkdir(exist_ok=True)
    for name in ("tiers.parquet", "tiers.csv"):
        shutil.copy(root / "exports" / name, keep / name)
    return root, first


def test_exports_hold_the_promised_columns(project):
    root, _ = project
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


def test_rejected_rows_and_quality_metrics_are_kept(project):
    root, _ = project
    rejected = pd.read_parquet(root / "data" / "prepared" / "rejected.parquet")
    assert {"reject_reason", "source_row", "source_file"} <= set(rejected.columns)
    assert rejected["reject_reason"].notna().all() and len(rejected) > 0


def test_mlflow_holds_the_run_with_metrics_and_models(project):
    root, _ = project
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


def test_second_repro_does_nothing(project):
    root, _ = project
    result = sh([sys.executable, "-m", "dvc", "repro"], root)
    assert "Running stage" not in result.stdout
    assert "up to date" in result.stdout


def test_same_data_and_config_give_byte_identical_tier_table(project):
    root, _ = project
    sh([*SEGML, "run", "--force", NO_PREVIOUS], root)
    for name in ("tiers.parquet", "tiers.csv"):
        assert (root / "exports" / name).read_bytes() == (
            root.parent / "first_run" / name
        ).read_bytes(), name


def test_score_reproduces_the_pipeline_tier_table(project):
    """`segml score` with the champion models on the pipeline's own data gives its exact tier table."""
    root, _ = project
    pipeline = pd.read_parquet(root / "exports" / "tiers.parquet")
    out = root.parent / "scored"
    sh(
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
        ],
        root,
    )
    pd.testing.assert_frame_equal(pd.read_parquet(out / "tiers.parquet"), pipeline)
    assert (out / "tiers.xlsx").exists() and (out / "rejected.parquet").exists()
    # the same exports as the pipeline: the report too, with the training run's model quality
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "ROC AUC" in report and "plotly" in report.lower()


def test_score_refuses_a_model_whose_features_differ(project):
    root, _ = project
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


def test_notebook_runs_on_the_outputs(project):
    import nbformat
    from nbclient import NotebookClient

    root, _ = project
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


def test_stale_params_are_refused_by_plain_dvc_repro(project):
    root, _ = project
    path = root / "conf" / "churn" / "default.yaml"
    original = path.read_text(encoding="utf-8")
    try:
        path.write_text(
            original.replace("calibration: auto", "calibration: none"), encoding="utf-8"
        )
        result = subprocess.run(
            [sys.executable, "-m", "dvc", "repro", "--force", "--single-item", "train"],
            cwd=root,
            capture_output=True,
            text=True,
            env=ENV,
        )
        assert result.returncode != 0
        assert "out of date" in result.stdout + result.stderr
    finally:
        path.write_text(original, encoding="utf-8")


def test_churn_setting_reruns_training_not_features(project):
    root, _ = project
    # forcing the model changes the production scorer (small data is graded C and scored by a rule)
    result = sh([*SEGML, "run", NO_PREVIOUS, "churn.scorer=model"], root)
    ran = {
        line.split("'")[1]
        for line in result.stdout.splitlines()
        if line.startswith("Running stage")
    }
    assert ran == {"train", "tier", "export"}


def test_another_period_shows_movement_against_the_pinned_previous_one(project):
    """Runs last in this module: grading another period (here as of a month earlier) compares with
    the last accepted run of another period, pinned in params.yaml; a rerun of the same period
    keeps the pin, so nothing reruns."""
    root, _ = project
    result = sh([*SEGML, "run", "as_of=2025-11-30"], root)
    assert "Running stage 'tier'" in result.stdout
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
    assert (
        "2025-12-31 · MLflow run " + pinned[4:12] in report
    )  # the report names the period compared with
    again = sh([*SEGML, "run", "as_of=2025-11-30"], root)
    assert "Running stage" not in again.stdout  # same period: same pin, nothing to redo


def test_mlflow_runs_are_comparable_side_by_side(project):
    root, _ = project
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


def test_hydra_sweep_records_each_run_in_mlflow(project):
    root, _ = project
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


def test_dvc_experiment_appears_in_exp_show(project):
    root, _ = project
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
