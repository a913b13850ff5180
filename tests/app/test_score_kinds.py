"""`segml score` grades new transactions with registered models; a subscriber project is told at
start-up, before any file or model is read, that it grades with `segml run`."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from segml.app import cli
from tests.conftest import ROOT


@pytest.mark.parametrize(
    "demo, kind", [("subscription_demo", "subscriptions"), ("both_demo", "both")]
)
def test_score_on_a_project_it_cannot_grade_says_what_to_run(tmp_path, monkeypatch, demo, kind):
    """`segml score` grades purchases only: on a subscriber or a both-exports project it stops at
    start-up, writes nothing, and names the command that grades them."""
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input.csv").write_text("客户编号\nC1\n", encoding="utf-8")
    overrides = [f"data={demo}", f"paths={demo}"]
    result = CliRunner().invoke(cli.app, ["score", "--input", "input.csv", *overrides])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"data.kind is '{kind}'" in said and "`segml run`" in said
    assert not (tmp_path / "scored").exists()  # nothing written
