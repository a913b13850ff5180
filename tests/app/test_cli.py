"""The command line's mistakes caught early: a failed compose or run leaves params.yaml as it was,
and `segml score` names only options it has."""

from __future__ import annotations

import re
import shutil

import pytest
from typer.testing import CliRunner

from segml.app import cli
from tests.conftest import ROOT


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(cli.app, list(args))


def test_a_failed_compose_leaves_params_yaml_as_it_was(project):
    assert invoke("compose", "labels.horizon_days=60").exit_code == 0
    before = (project / "params.yaml").read_bytes()
    result = invoke("compose", "labels.horizon_days=30", "labels.horizon_dayz=60")
    assert result.exit_code == 2 and "Did you mean `labels.horizon_days`?" in result.output
    assert (project / "params.yaml").read_bytes() == before


def test_a_failed_run_leaves_params_yaml_as_it_was(project, monkeypatch):
    """The override composes, then a stage fails: params.yaml goes back to the last run's."""
    assert invoke("compose").exit_code == 0
    before = (project / "params.yaml").read_bytes()
    (project / ".dvc").mkdir()
    calls = []

    def failing_dvc(*args, log=None):
        calls.append(args)
        assert b"horizon_days: 30" in (project / "params.yaml").read_bytes()  # composed first
        return 1

    monkeypatch.setattr(cli, "_dvc", failing_dvc)
    result = invoke("run", "labels.horizon_days=30")
    assert calls and result.exit_code == 2
    assert "dvc repro failed" in result.output and "back as it was" in result.output
    assert (project / "params.yaml").read_bytes() == before


def test_score_names_only_options_it_has(project):
    options = {
        o for p in cli.typer.main.get_command(cli.app).commands["score"].params for o in p.opts
    }
    options |= {"--help"}
    missing_option = invoke("score")
    missing_file = invoke("score", "--input", "no-such-file.csv")
    for result in (missing_option, missing_file):
        assert result.exit_code == 2
        named = set(re.findall(r"--[a-z][a-z-]*", result.output))
        assert named and named <= options, result.output
    assert "no-such-file.csv" in missing_file.output
    assert "conf/paths" not in missing_file.output and "segml run" not in missing_file.output


def test_ui_links_to_the_experiments_runs_not_its_genai_pages(project, monkeypatch):
    """MLflow 3's UI opens an experiment on its GenAI pages (traces) unless the link says
    `workflowType=machine_learning`; `segml ui` prints the link to the experiment's runs."""
    from segml.reporting import run_history

    asked, started = [], []
    monkeypatch.setattr(run_history, "experiment_id", lambda uri, name: asked.append(name) or "7")
    monkeypatch.setattr(cli.subprocess, "call", lambda args: started.append(args) or 0)
    result = invoke("ui", "--port", "5123")
    assert result.exit_code == 0, result.output
    printed = "".join(result.output.split())  # the console may wrap the long link
    assert "http://127.0.0.1:5123/#/experiments/7/runs?workflowType=machine_learning" in printed
    assert asked and started and started[0][1] == "ui" and "5123" in started[0]


def test_compose_stops_on_a_subscriber_phrase_naming_a_window_not_built(project):
    """`segml compose` is where a subscriber rule naming an unbuilt feature stops (not at tier)."""
    subscriber = ["data=subscription_demo", "paths=subscription_demo"]
    result = invoke("compose", *subscriber, "features.subscriptions.payment_windows=[30,90]")
    assert result.exit_code == 2 and not (project / "params.yaml").exists()
    text = " ".join(result.output.split())
    assert "`failed_payments_60d`" in text and "features.subscriptions.payment_windows" in text
    assert invoke("compose", *subscriber).exit_code == 0
