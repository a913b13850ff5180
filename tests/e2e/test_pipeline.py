"""End to end: the real pipeline (real DVC repo, real sqlite MLflow store, real LightGBM and KMeans)
on small generated data in temporary projects. Each test builds what it needs from fixtures (the
demo project or a copy of it), so any order or subset passes. The monthly walkthrough is in
test_monthly.py."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from segml.config import salt_fingerprint
from tests.conftest import ROOT
from tests.e2e.leaks import SALT
from tests.e2e.project import ENV, SEGML, assert_same_backtest_keys, sh

pytestmark = pytest.mark.slow


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
    # (their clear ids, "P...", in the tier stage's table: the export holds pseudonyms)
    bought = table["tier"].notna()
    clear = pd.read_parquet(root / "data" / "tiers" / "tiers.parquet")["customer_id"]
    statuses = table.loc[~bought, "lifecycle_status"].set_axis(clear[~bought])
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
    exported = pd.read_parquet(root / "exports" / "tiers.parquet")["customer_id"]
    assert csv["customer_id"].tolist() == exported.tolist()  # ids as text, leading zeros kept
    assert csv.loc[csv["tier"].notna(), "persona_zh"].notna().all()


def test_a_run_prints_the_stages_and_the_summary_only(demo_project):
    """No DVC progress lines or git hints, no library warnings or registry chatter, and the
    summary in plain words (no column or scorer codes)."""
    printed = (demo_project.parent / "first_run" / "output.txt").read_text(encoding="utf-8")
    stages = {"prepare", "features", "segment", "train", "tier", "export"}
    assert {s for s in stages if f"✓ {s} done in" in printed} == stages
    assert "Customers per tier" in printed and "Churn model vs baselines" in printed
    for noise in (
        "Running stage",
        "lock file",
        "git add",
        "dvc push",
        "autostage",
        "Warning:",  # a library's UserWarning, FutureWarning, ... (segml's own say "warning:")
        "warnings.warn",
        "Successfully registered",
        "already exists. Creating a new version",
        "Created version",
    ):
        assert noise not in printed, noise
    for code in ("customer_share", "value_share", "mean_churn", "baseline_", "roc_auc", "gini"):
        assert code not in printed, code


def test_dvc_metrics_hold_headline_numbers_the_details_the_rest(demo_project):
    """Every file dvc.yaml lists as a metric holds a few numbers, at most two levels deep (no
    text, no lists), so `dvc exp show` stays readable; its details file beside it holds the whole
    record, which is what reading the catalog entry gives."""
    from segml.app.params import load_config
    from segml.data.catalog import DETAILS, MAX_HEADLINE, Catalog

    entries = re.findall(
        r"^    metrics:\n((?:      - .*\n)+)", (ROOT / "dvc.yaml").read_text("utf-8"), re.M
    )
    names = [n for block in entries for n in re.findall(r"\$\{paths\.(\w+)\}", block)]
    assert len(names) >= 6
    os.chdir(demo_project)
    try:
        catalog = Catalog.from_config(load_config(check=False).paths)
        for name in names:
            headline = json.loads(catalog.path(name).read_text(encoding="utf-8"))
            leaves = [
                value
                for group in headline.values()
                for value in (group.values() if isinstance(group, dict) else [group])
            ]
            assert len(leaves) <= MAX_HEADLINE, name
            assert all(v is None or isinstance(v, (int, float)) for v in leaves), (name, headline)
            assert catalog.path(f"{name}{DETAILS}").exists(), name
        assert "verdict_en" in catalog.read("churn_metrics")["summary"]  # the whole record
        assert catalog.read("schedule")["backtest_folds"]
    finally:
        os.chdir(ROOT)


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


def test_score_refuses_a_model_whose_features_differ(demo_project):
    """`segml score` with settings the registered models were not trained with: a training
    setting (the churn window) gives way to the models' own, with a note; a feature setting that
    would change their columns stops it. (Scoring a period as the pipeline does:
    tests/e2e/test_monthly.py.)"""
    root = demo_project
    result = subprocess.run(
        [
            *SEGML,
            "score",
            "--input",
            "data/raw/transactions.csv",
            "--customers",
            "data/raw/customers.csv",
            "--out",
            str(root.parent / "mismatch"),
            "labels.horizon_days=60",  # a training setting: the models' own window is used
            "features.windows_days=[30,90]",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert result.returncode == 2
    message = " ".join((result.stdout + result.stderr).split())
    assert "predict 90 days ahead" in message
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
    # a segment and a churn setting: the stages that read them rerun, never prepare or features
    # (DVC composes conf/ itself: the pseudonymising demo's salt fingerprint is passed, as the
    # export stage's message asks)
    fingerprint = f"export.salt_fingerprint={salt_fingerprint(SALT)}"
    ran = sh(
        [sys.executable, "-m", "dvc", "exp", "run", "-n", "five-segments"]
        + ["-S", "segment.k=5", "-S", "churn.scorer=model", "-S", fingerprint],
        root,
    )
    ran = ran.stdout + ran.stderr
    assert set(re.findall(r"^Running stage '(\w+)'", ran, re.M)) == {
        "segment",
        "train",
        "tier",
        "audit",
        "export",
    }, ran
    shown = sh([sys.executable, "-m", "dvc", "exp", "show", "--no-pager", "--csv"], root).stdout
    rows = list(csv.DictReader(io.StringIO(shown)))
    assert "churn.roc_auc" in rows[0] and "segment.k" in rows[0]
    experiment = next(r for r in rows if r["Experiment"] == "five-segments")
    assert experiment["segment.k"] == "5" and float(experiment["churn.roc_auc"]) > 0.5
    # what changed reads in 200 columns: values, not "…" cells (the changed data and model
    # folders, DVC's dependency columns, are dropped: their paths hold a "/", no setting or
    # metric does)
    show = ["exp", "show", "--no-pager", "--only-changed", "--drop", ".*/"]
    table = subprocess.run(
        [sys.executable, "-m", "dvc", *show],
        cwd=root,
        capture_output=True,
        text=True,
        env={**ENV, "COLUMNS": "200"},
    ).stdout
    assert "five-segments" in table and "segments.k" in table and "…" not in table, table

    # in MLflow beside the demo's run, with the model forced into production (small data is
    # graded C and scored by a rule): the same backtest names, and the champion kept for want
    # of a fair comparison
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs(
        [client.get_experiment_by_name("segml").experiment_id],
        filter_string="tags.`segml.kind` = 'pipeline'",
        order_by=["attributes.start_time ASC"],
    )
    assert [r.data.params["churn.scorer"] for r in runs] == ["auto", "model"]
    assert_same_backtest_keys(runs)
    decision = runs[-1].data.tags["segml.promotion.churn"]
    assert "kept the champion set" in decision and "no fair comparison yet" in decision
