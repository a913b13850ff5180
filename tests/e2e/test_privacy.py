"""End to end, pseudonymisation on (the demo runs so, tests/e2e/project.py): no clear customer id
and never the salt in anything the pipeline writes for others (exports, the MLflow store and
every artifact, the models' input examples); a new salt re-runs export alone; no salt, no run.
Later periods and `segml score` matching earlier pseudonyms, and the Dask workers writing them:
tests/e2e/test_monthly.py (its December runs on Dask)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from segml.config import salt_fingerprint
from segml.reporting.privacy import pseudonymize
from tests.e2e.leaks import NEW_SALT, SALT, known_ids, leaks
from tests.e2e.project import ENV, SEGML

pytestmark = pytest.mark.slow


def finished_runs(root) -> int:
    with sqlite3.connect(root / "mlflow.db") as db:
        return db.execute("select count(*) from runs where status = 'FINISHED'").fetchone()[0]


def test_the_exports_and_mlflow_hold_pseudonyms_only(demo_project):
    root = demo_project
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    assert params["export"]["salt_fingerprint"] == salt_fingerprint(SALT)
    clear = pd.read_parquet(root / "data" / "tiers" / "tiers.parquet")["customer_id"]
    assert clear.str.fullmatch(r"P?\d{6,7}").all()  # clear ids (P: prospects, without a tier)
    exported = pd.read_parquet(root / "exports" / "tiers.parquet")
    assert exported["customer_id"].tolist() == pseudonymize(clear, SALT).tolist()

    examples = list((root / "mlruns").rglob("input_example.json"))
    assert examples
    for example in examples:
        frame = json.loads(example.read_text(encoding="utf-8"))
        for j, column in enumerate(frame["columns"]):
            assert column != "customer_id"
            if column.startswith("attr_"):
                assert {row[j] for row in frame["data"]} <= {"", None}, (example, column)

    assert any((root / "mlruns").rglob("*.parquet"))  # the full table was logged, and is scanned
    ids = known_ids(root)  # every customer the export knows, clear: the scan looks for each
    found = leaks(root, ids, [SALT])
    assert not found, f"clear ids or the salt found in: {found}"
    printed = (root.parent / "first_run" / "output.txt").read_text(encoding="utf-8")
    assert SALT not in printed
    # internal files keep clear ids: inside the project, as data/prepared is for the pipeline
    assert leaks(root, ids, [], folders=("data/tiers",))  # the scan does find them


def test_without_the_salt_nothing_runs(project_copy):
    root = project_copy
    params = (root / "params.yaml").read_bytes()
    runs = finished_runs(root)
    env = {k: v for k, v in ENV.items() if k != "SEGML_ID_SALT"}
    refused = subprocess.run(
        [*SEGML, "run", "as_of=2025-11-30"], cwd=root, capture_output=True, text=True, env=env
    )
    assert refused.returncode == 2
    assert "SEGML_ID_SALT" in " ".join((refused.stdout + refused.stderr).split())
    assert (root / "params.yaml").read_bytes() == params and finished_runs(root) == runs


def test_a_new_salt_reruns_export_alone(project_copy):
    """The salt's fingerprint is a parameter of export (and only of export)."""
    root = project_copy
    env = {**ENV, "SEGML_ID_SALT": NEW_SALT}
    compose = [*SEGML, "compose", "tiering.previous=null"]
    subprocess.run(compose, cwd=root, env=env, check=True, capture_output=True)
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert set(json.loads(status)) == {"export"}
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    assert params["export"]["salt_fingerprint"] == salt_fingerprint(NEW_SALT)
