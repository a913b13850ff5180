"""Faults: a writer killed mid-write leaves only complete files under real names and the next
write recovers (the run lock's faults are in tests/app/test_lock.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from segml.app.cli import app
from segml.app.params import compose, write_params
from segml.data import io
from tests.conftest import ROOT, SRC_ENV, kill_python, start_python

WRITER = """
import numpy as np, pandas as pd
from segml.data import io
frame = pd.DataFrame({"n": np.arange(2_000_000), "x": np.random.default_rng(0).random(2_000_000)})
io.write_parquet(frame, "out/table.parquet")
print("written", flush=True)
while True:
    io.write_parquet(frame, "out/table.parquet")
"""


def test_sigkill_mid_write_leaves_only_complete_files_and_the_next_write_recovers(tmp_path):
    writer = start_python(WRITER, tmp_path)
    try:
        assert writer.stdout.readline().strip() == "written"
        partial = tmp_path / "out" / f".table.parquet.{writer.pid}.tmp"
        deadline = time.monotonic() + 20
        while not (partial.exists() and partial.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.001)
        os.kill(writer.pid, signal.SIGKILL)  # in the middle of writing the temp file
        writer.wait(timeout=10)
    finally:
        if writer.poll() is None:
            kill_python(writer)
    assert partial.exists()  # the kill did land mid-write ...
    table = pd.read_parquet(tmp_path / "out" / "table.parquet")  # ... yet the real name is complete
    assert len(table) == 2_000_000 and table["n"].iloc[-1] == 1_999_999

    # the next run writes the same output: it succeeds and the dead writer's temp file is gone
    io.write_parquet(pd.DataFrame({"n": [1, 2]}), tmp_path / "out" / "table.parquet")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["table.parquet"]
    assert pd.read_parquet(tmp_path / "out" / "table.parquet")["n"].tolist() == [1, 2]


def test_a_live_writers_temp_file_is_left_alone(tmp_path):
    live = tmp_path / f".t.parquet.{os.getppid()}.tmp"  # our parent process is alive
    live.write_bytes(b"in progress")
    io.write_json({"a": 1}, tmp_path / "t.parquet")
    assert live.exists()


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    write_params(compose([]), overrides=[])
    return tmp_path


@pytest.mark.slow  # the prepare stage's script, run as a process twice
def test_prepare_stage_killed_mid_write_recovers_on_the_next_run(project):
    """The real prepare stage, SIGKILLed while it writes its outputs: what it leaves under real
    names is complete, and rerunning the stage succeeds and cleans up."""
    generated = CliRunner().invoke(app, ["generate", "--customers", "10000", "--seed", "3"])
    assert generated.exit_code == 0
    stage = [sys.executable, str(ROOT / "pipelines" / "prepare.py")]
    prepared = project / "data" / "prepared"
    first = subprocess.Popen(
        stage, cwd=project, env=SRC_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    caught = None
    while first.poll() is None and caught is None:
        if prepared.is_dir():
            caught = next((p.name for p in prepared.glob(".*.tmp")), None)
    first.kill()
    first.wait(timeout=10)
    assert caught, "the stage finished before any write was caught; make the data larger"
    for path in prepared.glob("*.parquet"):  # under real names: only complete tables
        pd.read_parquet(path)

    rerun = subprocess.run(stage, cwd=project, env=SRC_ENV, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert sorted(p.name for p in prepared.iterdir()) == [
        "customers.parquet",
        "no_purchase_customers.parquet",
        "rejected.parquet",
        "transactions.parquet",
    ]
    headline = io.read_json(project / "metrics" / "data_quality.json")  # what DVC compares
    quality = io.read_json(project / "metrics" / "data_quality_details.json")  # the whole record
    assert headline["quality"]["rows_clean"] == quality["rows_clean"]
    assert quality["rows_clean"] == len(pd.read_parquet(prepared / "transactions.parquet"))
    assert quality["rows_read"] == quality["rows_clean"] + quality["rows_rejected"]


def test_table_csv_reads_back_with_yes_no_text_and_the_bom(tmp_path):
    table = pd.DataFrame(
        {
            "customer_id": ["0001", "0002", "P003"],
            "note": ['says "hi", twice', None, "客户"],
            "adjusted": [True, False, None],  # a yes/no column with a missing row: objects
            "value": [1.0, 2.5, float("nan")],
        }
    )
    path = io.write_table_csv(table, tmp_path / "t.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    assert raw.decode("utf-8-sig").splitlines()[1:3] == [
        '"0001","says ""hi"", twice",true,1',
        '"0002",,false,2.5',
    ]
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"customer_id": str})
    assert back["customer_id"].tolist() == table["customer_id"].tolist()
    assert back["note"].iloc[0] == 'says "hi", twice' and back["adjusted"].iloc[0]
    plain = io.write_table_csv(table, tmp_path / "plot.csv", bom=False).read_bytes()
    assert plain.startswith(b'"customer_id"')
