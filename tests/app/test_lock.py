"""The run lock: a second `segml run`/`segml score` in the same project refuses before it touches
anything, naming the process that holds the project; a killed holder's lock is taken over."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segml.app.cli import RUN_LOCK, app
from segml.app.lock import run_lock
from segml.app.params import compose, write_params
from segml.errors import ProjectBusyError
from tests.conftest import ROOT, kill_python, start_python

pytestmark = pytest.mark.slow  # each test starts another segml process

HOLDER = """
from segml.app.lock import run_lock
import time
with run_lock("logs/segml-run.lock", "segml run labels.horizon_days=30"):
    print("locked", flush=True)
    time.sleep(120)
"""


def test_run_lock_refuses_while_held_and_is_taken_over_when_the_holder_dies(tmp_path):
    holder = start_python(HOLDER, tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(ProjectBusyError) as error:
            with run_lock(tmp_path / "logs" / "segml-run.lock", "segml score"):
                pytest.fail("a second holder got the lock")
        assert f"pid {holder.pid}" in str(error.value)
        assert "`segml run labels.horizon_days=30`" in str(error.value)
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # dies holding the lock; its record stays in the file
        holder.wait(timeout=10)
    assert str(holder.pid) in (tmp_path / "logs" / "segml-run.lock").read_text(encoding="utf-8")
    lock = tmp_path / "logs" / "segml-run.lock"
    with run_lock(lock, "segml run"):  # stale: taken over
        assert f'"pid": {os.getpid()}' in lock.read_text(encoding="utf-8")


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    write_params(compose([]), overrides=[])
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        ["run", "labels.horizon_days=60"],
        ["score", "--input", "data/raw/transactions.csv"],
        ["compose", "labels.horizon_days=60"],
        ["generate", "--customers", "100"],
    ],
)
def test_second_segml_command_refuses_before_touching_anything(project, command):
    params_before = (project / "params.yaml").read_bytes()
    holder = start_python(HOLDER, project)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(app, command)
    finally:
        kill_python(holder)
    assert result.exit_code == 2
    message = " ".join(result.output.split())  # rich wraps long lines
    assert f"pid {holder.pid}" in message and "segml run labels.horizon_days=30" in message
    assert (project / "params.yaml").read_bytes() == params_before
    assert sorted(p.name for p in project.iterdir()) == ["conf", "logs", "params.yaml"]
    assert RUN_LOCK == Path("logs") / "segml-run.lock"
