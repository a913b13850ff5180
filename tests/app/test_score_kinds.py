"""`segml score` grades new transactions with registered models; a subscriber project is told at
start-up, before any file or model is read, that it grades with `segml run`."""

from __future__ import annotations

import shutil

from typer.testing import CliRunner

from segml.app import cli
from tests.conftest import ROOT


def test_score_on_a_subscriber_project_says_what_to_run(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs.csv").write_text("客户编号\nC1\n", encoding="utf-8")
    overrides = ["data=subscription_demo", "paths=subscription_demo"]
    result = CliRunner().invoke(cli.app, ["score", "--input", "subs.csv", *overrides])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "data.kind is 'subscriptions'" in said and "`segml run`" in said
    assert not (tmp_path / "scored").exists()  # nothing written


def test_score_on_a_both_exports_project_says_what_to_run(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tx.csv").write_text("客户编号\nC1\n", encoding="utf-8")
    overrides = ["data=both_demo", "paths=both_demo"]
    result = CliRunner().invoke(cli.app, ["score", "--input", "tx.csv", *overrides])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "data.kind is 'both'" in said and "`segml run`" in said
    assert not (tmp_path / "scored").exists()
