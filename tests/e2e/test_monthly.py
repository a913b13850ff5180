"""End to end, the README's monthly re-grading on a copy of the demo project: October, December
(on the Dask engine), October again and `segml score` of December, run once for the module (the
runs build on each other); each test reads what it needs of that history. The demo pseudonymises
its ids (as a company that must would), so the history also shows that each period's pseudonyms
match the earlier periods' and that nothing it wrote holds a clear id; and December, every stage
computed again on a cluster, grades as `segml score` does in another process. Two periods show
what the monthly loop does (movement, the audit of an earlier period, an earlier month rerun
after a later one); which of several earlier periods is "the one just before" is tested on MLflow
itself (tests/reporting/test_run_history.py), and a changed churn setting rerunning training alone
with `dvc exp run` (tests/e2e/test_pipeline.py)."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pandas as pd
import pytest
import yaml

from segml.reporting.workbook import SHEETS
from tests.e2e.leaks import NEW_SALT, SALT, id_hits, known_ids, leaks
from tests.e2e.project import SEGML, assert_same_backtest_keys, copy_project, sh, stages_run

pytestmark = pytest.mark.slow
# the README's monthly walkthrough after `make demo`, as its commands are written there (its
# November is left out: a month between two others shows nothing October or December does not),
# December on a two-worker Dask LocalCluster with three customer partitions and a memory limit
# per worker: the engine must not change what a month grades
DASK = ["engine=dask", "dask.partitions=3", "dask.memory_limit=2GB"]
PARTITIONED = ("prepared/transactions.parquet", "tiers/tiers.parquet")
STAGES = {"prepare", "features", "segment", "train", "tier", "audit", "export"}
WALKTHROUGH = [
    ("october", ["run", "as_of=2025-10-31"]),
    ("december", ["run", *DASK]),
    ("october again", ["run", "as_of=2025-10-31"]),
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
    """A copy of the demo project (graded as of 2025-12-31), graded month by month as the
    README's "Monthly re-grading" does: October, December again (on Dask), October again last
    (an earlier month rerun after a later one), and `segml score` of December. Each run's tier
    and audit metrics are kept, and December's exports, params.yaml and partition files."""
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

    for name, args in WALKTHROUGH:
        run(name, *args)
        if name == "december":
            shutil.copytree(root / "exports", root.parent / "december")
            shutil.copy(root / "params.yaml", root.parent / "december" / "params.yaml")
            metrics[name]["partitions"] = {
                table: sorted(p.name for p in (root / "data" / table).iterdir())
                for table in PARTITIONED
            }
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


def test_each_month_compares_with_the_month_before_whatever_the_order(history):
    """The README's walkthrough: each period compares with the accepted period just before it,
    pinned in params.yaml; a month rerun after a later one compares with the month before it
    (none before October: never the later December) and reruns nothing (DVC restores it)."""
    root, runs, metrics = history
    previous = {name: metrics[name]["tiers"]["previous_as_of"] for name, _ in WALKTHROUGH}
    assert previous == {
        "october": None,  # the demo's own run is later, never earlier
        "december": "2025-10-31",
        "october again": None,  # December is later, never earlier
        "score": "2025-10-31",  # never the pipeline's run of the same period
    }
    for name in ("december", "score"):
        movement = metrics[name]["tiers"]["movement"]
        assert 0.005 <= movement["changed_share"] <= 0.6, (name, movement)
        assert movement["upgrades"] + movement["downgrades"] > 0
        assert movement["new_customers"] > 0 and movement["gone_customers"] == 0
    assert not stages_run(runs["october again"])  # restored: same data, period and pins
    december = root.parent / "december"
    october = metrics["october"]["run"]["run_id"]
    # December's run gave no as_of: its pins name every period not later than the data's end, and
    # the tier stage compares with the one just before the date it finds (October)
    pinned = yaml.safe_load((december / "params.yaml").read_text(encoding="utf-8"))
    assert f"2025-10-31:{october[:12]}" in pinned["audit"]["periods_ref"]
    report = (december / "report.html").read_text(encoding="utf-8")
    # the previous period named by its date; its run id only where analysts look (tier metrics)
    assert "<b>2025-10-31</b>" in report and october[:8] not in report
    assert metrics["december"]["tiers"]["previous_run"] == october
    # back to October: nothing earlier to compare with or audit, pinned as such
    pinned = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    assert pinned["tiering"]["previous_ref"] is None and not pinned["audit"]["periods_ref"]

    table = pd.read_parquet(december / "tiers.parquet")
    assert {"previous_tier", "previous_value", "tier_change"} <= set(table.columns)
    moved = table[table["tier_change"].isin(["up", "down"])]
    assert moved["previous_value"].notna().all()
    book = openpyxl.load_workbook(december / "tiers.xlsx", read_only=True)
    assert len(book.sheetnames) == len(SHEETS) and "Call list" in book.sheetnames[0]
    cells = [str(c) for row in book.worksheets[SHEETS.index("movement")].values for c in row if c]
    assert any("Transition matrix" in c for c in cells)
    assert "2025-10-31" in cells and not any("MLflow run" in c for c in cells)
    assert any("New this period" in c for c in cells)
    page = (december / "report.html").read_text(encoding="utf-8")
    assert "&lt;br&gt;" not in page  # no markup shown as text
    assert "Largest moves by change in value" in page and "spend in the last 12 months" in page


def test_december_on_dask_grades_as_the_local_engine(history):
    """December ran every stage again on the cluster (another engine: nothing restored), and
    `segml score` of December, in another process and with the same models, gives its tier table and
    its CSV byte for byte: with the README's runs, the suite's proof that the same data and config
    give the same grades whatever runs them."""
    root, runs, metrics = history
    out = runs["december"].stdout + runs["december"].stderr
    assert stages_run(runs["december"]) == STAGES
    assert "worker peak memory" in out  # the cluster really ran them
    names = [f"part-0000{k}.parquet" for k in range(3)]
    assert metrics["december"]["partitions"] == dict.fromkeys(PARTITIONED, names)
    december, scored = root.parent / "december", root / "scored" / "2025-12"
    # the exported parquet is a partitioned dataset too, read as one table
    assert sorted(p.name for p in (december / "tiers.parquet").iterdir()) == names
    assert (december / "tiers.csv").read_bytes() == (scored / "tiers.csv").read_bytes()


def test_december_audits_the_earlier_months(history):
    """Did October's grades come true? Partly: 61 of their 90 days have passed by December 31.
    Tier A bought again more than C, and the churn scores rank those who did not buy again."""
    root, _, metrics = history
    audit = metrics["december"]["audit"]
    periods = {p["as_of"]: p for p in audit["periods"]}
    assert list(periods) == ["2025-10-31"]
    october = periods["2025-10-31"]
    assert not october["complete"] and october["elapsed_days"] == 61
    assert october["matched_share"] == 1.0
    rates = october["repurchase_rate_by_tier"]
    assert rates["A"] > rates["B"] > rates["C"]
    assert october["churn_roc_auc"] > 0.7
    assert sum(g["customers"] for g in october["by_tier"].values()) == october["customers"]
    assert october["predicted_value_total"] > 0 and october["realized_value_total"] > 0
    # the audit's forecast is October's own: the total October's run gave (every graded customer,
    # not only the churn model's recent buyers, whom churn is checked on)
    own = metrics["october"]["tiers"]
    assert october["predicted_value_total"] == pytest.approx(own["forecast_total"])
    assert october["customers"] == own["forecast_customers"] > october["forecast_customers"]
    assert [(s["from"], s["to"]) for s in audit["stability"]] == [("2025-10-31", "2025-12-31")]
    assert set(audit["stability"][-1]["psi"]) >= {"recency_days", "churn_probability"}
    # an earlier month rerun audits only what lies before it: nothing (December is later)
    assert metrics["october again"]["audit"]["periods"] == []
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
    (prospects of the customer table included, movement since October), names the model set it
    used and counts as a period in MLflow."""
    root, runs, metrics = history
    scored = pd.read_parquet(root / "scored" / "2025-12" / "tiers.parquet")
    pipeline = pd.read_parquet(root.parent / "december" / "tiers.parquet")
    pd.testing.assert_frame_equal(scored, pipeline)
    assert (scored["lifecycle_status"] == "never_bought").any()
    out = " ".join((runs["score"].stdout + runs["score"].stderr).split())  # segml prints to stderr
    assert "registered model set v1 (champion), trained on data as of 2025-12-31" in out
    assert "movement since 2025-10-31" in out
    report = (root / "scored" / "2025-12" / "report.html").read_text(encoding="utf-8")
    assert "registered model set v1" in report and "ROC AUC" in report
    assert (root / "scored" / "2025-12" / "tiers.xlsx").exists()  # the pipeline's exports, all
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
    for name in ("october", "december"):
        decision = metrics[name]["run"]["promotion"]["churn"]
        assert "kept the champion set" in decision and "no fair comparison yet" in decision, name


def test_mlflow_runs_are_comparable_side_by_side(history):
    """The demo's run, October and December (October again was restored, not run); a run with
    another scorer in production beside them: tests/e2e/test_pipeline.py's experiment."""
    root, _, _ = history
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("segml")
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string="tags.`segml.kind` = 'pipeline'",
        order_by=["attributes.start_time ASC"],
    )
    assert len(runs) >= 3
    # the backtest means of models and baselines have the same names in every run, whatever the
    # period
    assert_same_backtest_keys(runs)
    for run in runs:
        assert {"segml.git_commit", "segml.data_sha256", "segml.as_of", "segml.data_source"} <= set(
            run.data.tags
        )
        assert run.data.tags["segml.promotion.churn"]
        assert (
            run.data.tags["segml.grade.churn"][0] in "ABC"
            and "folds" in run.data.tags["segml.grade.upside"]
        )


def test_the_periods_pseudonyms_match_and_nothing_leaks(history):
    """Movement and the audit find last period's customers through their pseudonyms (the same
    salt); no clear id and no salt in anything the four runs wrote for others or printed."""
    root, runs, metrics = history
    scored = pd.read_parquet(root / "scored" / "2025-12" / "tiers.parquet")
    moved = scored["tier_change"].dropna()  # customers without a usable purchase have no tier
    assert (moved == "down").any() and (moved == "new").mean() < 0.2  # pseudonyms matched to ids
    assert metrics["december"]["audit"]["periods"][0]["matched_share"] == 1.0
    # rejected rows keep their original text (ids included) so the source can be fixed: inside
    # the project, as data/prepared is for the pipeline, never beside pseudonymised exports
    assert not (root / "scored" / "2025-12" / "rejected.parquet").exists()
    assert (root / "data" / "scored" / "rejected.parquet").exists()
    ids = known_ids(root)
    # December's exports as the Dask workers wrote them, October's (restored) and the score's
    found = leaks(root, ids, [SALT, NEW_SALT], ("../december", "exports", "mlruns", "scored"))
    assert not found, f"clear ids or the salt found in: {found}"
    printed = " ".join(r.stdout + r.stderr for r in runs.values())
    assert not id_hits(printed, set(ids)) and SALT not in printed
