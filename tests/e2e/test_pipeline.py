"""End to end: the real pipeline (real DVC repo, real sqlite MLflow store, real LightGBM and KMeans)
on small generated data in temporary projects. Each test builds what it needs from fixtures (the
demo project, a copy of it, or a module's history of runs), so any order or subset passes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import openpyxl
import pandas as pd
import pytest
import yaml

from segml.reporting.workbook import SHEETS
from tests.conftest import ROOT
from tests.e2e.project import ENV, NO_PREVIOUS, SEGML, copy_project, sh, stages_run

pytestmark = pytest.mark.slow
# the README's monthly walkthrough after `make demo`, as its commands are written there
WALKTHROUGH = [
    ("october", ["run", "as_of=2025-10-31"]),
    ("november", ["run", "as_of=2025-11-30"]),
    ("december", ["run"]),
    ("november again", ["run", "as_of=2025-11-30"]),
    (
        "score",
        [
            "score",
            "--input",
            "data/raw/transactions.csv",
            "--as-of",
            "2025-12-31",
            "--out",
            "scored/2025-12",
        ],
    ),
]


@pytest.fixture(scope="module")
def history(demo_project, tmp_path_factory):
    """A copy of the demo project (graded as of 2025-12-31), first run by a data scientist with
    the churn model forced into production, then graded month by month as the README's "Monthly
    re-grading" does: October, November, December again, November again last (an earlier month
    rerun after a later one), and `segml score` of December. Each run's tier and audit metrics
    are kept, and December's exports."""
    root = copy_project(demo_project, tmp_path_factory.mktemp("history") / "project")
    runs, metrics = {}, {}

    def run(name: str, *args: str) -> None:
        runs[name] = sh([*SEGML, *args], root)
        if args[0] == "score":  # its metrics are in its MLflow run (the rest is in --out)
            metrics[name] = scored_run(root)
            return
        metrics[name] = {
            # each stage's whole record (the DVC metrics file beside it holds headline numbers)
            n: json.loads((root / "metrics" / f"{n}_details.json").read_text(encoding="utf-8"))
            for n in ("tiers", "audit")
        }
        metrics[name]["run"] = json.loads(
            (root / "exports" / "mlflow_run.json").read_text(encoding="utf-8")
        )

    run("forced model", "run", NO_PREVIOUS, "churn.scorer=model")
    for name, args in WALKTHROUGH:
        run(name, *args)
        if name == "december":
            shutil.copytree(root / "exports", root.parent / "december")
    return root, runs, metrics


def scored_run(root) -> dict:
    """The latest `segml score` run's tier metrics and id, from MLflow."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("segml")
    (run,) = client.search_runs(
        [experiment.experiment_id],
        filter_string="tags.`segml.kind` = 'score'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    counts = ("changed_share", "upgrades", "downgrades", "new_customers", "gone_customers")
    return {
        "tiers": {
            "previous_as_of": run.data.tags.get("segml.previous_as_of"),
            "movement": {k: run.data.metrics[f"tiers.movement.{k}"] for k in counts},
        },
        "run": {"run_id": run.info.run_id},
    }


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
    _, runs, _ = history
    # forcing the model changes the production scorer (small data is graded C and scored by a rule)
    assert stages_run(runs["forced model"]) == {"train", "tier", "audit", "export"}


def test_each_month_compares_with_the_month_before_whatever_the_order(history):
    """The README's walkthrough: each period compares with the accepted period just before it,
    pinned in params.yaml; a month rerun after a later one compares with the month before it and
    reruns nothing (DVC restores it)."""
    root, runs, metrics = history
    previous = {name: metrics[name]["tiers"]["previous_as_of"] for name, _ in WALKTHROUGH}
    assert previous == {
        "october": None,  # the demo's own run is later, never earlier
        "november": "2025-10-31",
        "december": "2025-11-30",
        "november again": "2025-10-31",
        "score": "2025-11-30",  # never the pipeline's run of the same period
    }
    for name in ("november", "december", "score"):
        movement = metrics[name]["tiers"]["movement"]
        assert 0.005 <= movement["changed_share"] <= 0.6, (name, movement)
        assert movement["upgrades"] + movement["downgrades"] > 0
        assert movement["new_customers"] > 0 and movement["gone_customers"] == 0
    assert "tier" in stages_run(runs["november"])
    assert not stages_run(runs["november again"])  # restored: same data, period and pins
    pinned = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["tiering"]
    assert pinned["previous_ref"] == f"run:{metrics['october']['run']['run_id']}"
    report = (root / "exports" / "report.html").read_text(encoding="utf-8")
    assert "2025-10-31 · MLflow run " + metrics["october"]["run"]["run_id"][:8] in report

    december = root.parent / "december"
    table = pd.read_parquet(december / "tiers.parquet")
    assert {"previous_tier", "previous_value", "tier_change"} <= set(table.columns)
    moved = table[table["tier_change"].isin(["up", "down"])]
    assert moved["previous_value"].notna().all()
    book = openpyxl.load_workbook(december / "tiers.xlsx", read_only=True)
    assert len(book.sheetnames) == len(SHEETS) and "Call list" in book.sheetnames[0]
    cells = [str(c) for row in book.worksheets[SHEETS.index("movement")].values for c in row if c]
    assert any("Transition matrix" in c for c in cells)
    assert any("2025-11-30 · MLflow run" in c for c in cells)
    assert any("New this period" in c for c in cells)
    page = (december / "report.html").read_text(encoding="utf-8")
    assert "&lt;br&gt;" not in page  # no markup shown as text
    assert "Largest moves by change in value" in page and "spend in the last 12 months" in page


def test_december_audits_the_earlier_months(history):
    """Did October's and November's grades come true? Partly: 61 and 31 of their 90 days have
    passed by December 31. Tier A bought again more than C, and the churn scores rank those who
    did not buy again."""
    root, _, metrics = history
    audit = metrics["december"]["audit"]
    periods = {p["as_of"]: p for p in audit["periods"]}
    assert list(periods) == ["2025-10-31", "2025-11-30"]
    october = periods["2025-10-31"]
    assert not october["complete"] and october["elapsed_days"] == 61
    assert october["matched_share"] == 1.0
    rates = october["repurchase_rate_by_tier"]
    assert rates["A"] > rates["B"] > rates["C"]
    assert october["churn_roc_auc"] > 0.7
    assert sum(g["customers"] for g in october["by_tier"].values()) == october["customers"]
    assert october["predicted_value_total"] > 0 and october["realized_value_total"] > 0
    assert [(s["from"], s["to"]) for s in audit["stability"]] == [
        ("2025-10-31", "2025-11-30"),
        ("2025-11-30", "2025-12-31"),
    ]
    assert set(audit["stability"][-1]["psi"]) >= {"recency_days", "churn_probability"}
    # an earlier month rerun audits only what lies before it
    assert [p["as_of"] for p in metrics["november again"]["audit"]["periods"]] == ["2025-10-31"]
    assert metrics["october"]["audit"]["periods"] == []
    december = root.parent / "december"
    page = (december / "report.html").read_text(encoding="utf-8")
    assert "Did last period&#x27;s grades come true?" in page or "Did last period's grades" in page
    book = openpyxl.load_workbook(december / "tiers.xlsx", read_only=True)
    cells = [str(c) for row in book.worksheets[SHEETS.index("audit")].values for c in row if c]
    assert any("Grades of 2025-10-31: by tier" in c for c in cells)
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    logged = client.get_run(metrics["december"]["run"]["run_id"]).data.metrics
    assert logged["audit.2025-10-31.churn_roc_auc"] == pytest.approx(october["churn_roc_auc"])


def test_score_grades_a_period_as_the_pipeline_does_and_records_it(history):
    """`segml score` of December with the champion set gives the pipeline's December tier table
    (prospects of the customer table included, movement since November), names the model set it
    used and counts as a period in MLflow."""
    root, runs, metrics = history
    scored = pd.read_parquet(root / "scored" / "2025-12" / "tiers.parquet")
    pipeline = pd.read_parquet(root.parent / "december" / "tiers.parquet")
    pd.testing.assert_frame_equal(scored, pipeline)
    assert (scored["lifecycle_status"] == "never_bought").any()
    out = " ".join((runs["score"].stdout + runs["score"].stderr).split())  # segml prints to stderr
    assert "registered model set v1 (champion), trained on data as of 2025-12-31" in out
    assert "movement since 2025-11-30" in out
    report = (root / "scored" / "2025-12" / "report.html").read_text(encoding="utf-8")
    assert "registered model set v1" in report and "ROC AUC" in report
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    run = client.get_run(metrics["score"]["run"]["run_id"]).data
    assert run.tags["segml.kind"] == "score" and run.tags["segml.accepted"] == "true"
    assert run.tags["segml.models"].startswith("registered model set v1")
    assert run.params["labels.horizon_days"] == "90"  # the set's own horizon


def test_the_champion_is_kept_without_a_fair_comparison(history):
    """Every run here is as of a date whose backtest folds lie before the champion's labels end
    (2025-12-31): there is nothing fair to compare on, and each run says so."""
    _, _, metrics = history
    for name in ("forced model", "october", "november", "december"):
        decision = metrics[name]["run"]["promotion"]["churn"]
        assert "kept the champion set" in decision and "no fair comparison yet" in decision, name


def test_mlflow_runs_are_comparable_side_by_side(history):
    root, _, _ = history
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("segml")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string="tags.`segml.kind` = 'pipeline'",
        order_by=["attributes.start_time ASC"],
    )
    assert len(runs) >= 4
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
