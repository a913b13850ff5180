"""The demo project, run once per test worker; tests that change a project get their own copy."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.project import NO_PREVIOUS, SEGML, copy_project, new_project, sh


@pytest.fixture(scope="session")
def demo_project(tmp_path_factory):
    """1,500 generated customers through every stage; never changed by a test (read it only).
    The first run's tier table and what it printed are kept beside it in `first_run/`."""
    root = new_project(tmp_path_factory.mktemp("demo") / "project")
    sh([*SEGML, "generate", "--customers", "1500", "--seed", "7"], root)
    run = sh([*SEGML, "run", NO_PREVIOUS], root)
    keep = root.parent / "first_run"
    keep.mkdir()
    (keep / "output.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
    for name in ("tiers.parquet", "tiers.csv", "tiers.xlsx"):
        shutil.copy(root / "exports" / name, keep / name)
    return root


@pytest.fixture()
def project_copy(demo_project, tmp_path):
    """A copy of the demo project, after its first run, for a test to change."""
    return copy_project(demo_project, tmp_path / "project")
