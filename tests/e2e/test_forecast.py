"""The forecast on the demo project: the schedule's choice recorded, the new tier-table columns,
the total's error in metrics and MLflow, and `segml window` writing its study into the report."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from tests.e2e.project import SEGML, sh

pytestmark = pytest.mark.slow


def test_schedule_forecast_columns_and_total_error_are_recorded(demo_project):
    root = demo_project
    choice = json.loads((root / "metrics" / "features_details.json").read_text())["schedule_choice"]
    assert (
        choice["mode"] == "auto"
        and choice["why"]
        and set(choice["values"])
        == {
            "cutoff_spacing_days",
            "fold_spacing_days",
            "min_history_days",
            "n_training_cutoffs",
        }
    )
    table = pd.read_parquet(root / "exports" / "tiers.parquet")
    rated = table[table["tier"].notna()]
    assert (rated["predicted_value_p10"] <= rated["predicted_value_p90"]).all()
    assert (rated["predicted_value_p10"] >= 0).all()
    dated = rated["expected_next_purchase_date"].notna()
    assert dated.any() and (rated.loc[~dated, "next_purchase_source"] == "none_expected").all()
    assert (rated.loc[dated, "churn_probability"] < 0.5).all()
    upside = json.loads((root / "metrics" / "upside_details.json").read_text())
    forecast = upside["forecast"]
    assert forecast["total_error_en"] and forecast["folds"]
    assert all("total_ratio" in f and "coverage" in f for f in forecast["folds"].values())
    churn = json.loads((root / "metrics" / "churn_details.json").read_text())
    assert "baseline_bgnbd_expected" in churn and "blend" in churn["summary"]
    with sqlite3.connect(root / "mlflow.db") as db:
        metrics = {k for (k,) in db.execute("select distinct key from metrics")}
        tags = dict(db.execute("select key, value from tags"))
    assert {"upside.forecast.factor", "upside.forecast.folds.fold_1.total_ratio"} <= metrics
    assert tags["segml.forecast.total"] == forecast["total_error_en"]
    assert tags["segml.schedule"].startswith(choice["chosen"])


def test_window_command_writes_its_study_and_the_report_shows_it(project_copy):
    root = project_copy
    result = sh([*SEGML, "window", "--horizons", "60", "--sample", "900"], root)
    study = json.loads((root / "metrics" / "window.json").read_text())
    assert [w["horizon_days"] for w in study["windows"]] == [60, 90]  # this run's 90 is added
    assert study["customers"] == 900 and study["sample"] == 900
    sixty, ninety = study["windows"]
    assert sixty["churn_rate"] > ninety["churn_rate"]  # a shorter window: more churned
    assert ninety["changed_status"] == 0 and sixty["changed_status"] >= 0
    assert set(sixty["status"]) == {"new", "active", "at_risk", "lost"}
    assert len(pd.read_csv(root / "metrics" / "plots" / "window.csv")) == 2
    assert "Churn windows on 900 customers" in result.stderr + result.stdout
    report = (root / "exports" / "report.html").read_text(encoding="utf-8")
    assert 'id="window"' in report and "观察期（天）" in report
