"""Temporary segml projects for the end-to-end tests: a real git + DVC repository with the
repository's conf/, pipelines/ and src/, driven through the real CLI in subprocesses."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from segml.reporting.mlflow_store import relocate
from tests.conftest import ROOT
from tests.e2e.leaks import SALT

SEGML = [sys.executable, "-m", "segml.app.cli"]
NO_PREVIOUS = "tiering.previous=null"  # byte-identical reruns need no movement columns

# stages run `python ...`, as after `source .venv/bin/activate`; the salt of a pseudonymising
# project is in the environment, as its users would keep it
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    "SEGML_ID_SALT": SALT,
}


def sh(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=ENV)
    assert result.returncode == 0, (
        f"{cmd} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    return result


def new_project(root: Path) -> Path:
    for folder in ("conf", "pipelines", "src"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, root / name)
    sh(["git", "init", "-q"], root)
    sh([sys.executable, "-m", "dvc", "init", "-q"], root)
    shutil.copy(ROOT / ".dvc" / "config", root / ".dvc" / "config")
    return root


def copy_project(source: Path, target: Path) -> Path:
    """A full copy (git, DVC cache, MLflow store) that a test may change freely.

    MLflow stores absolute artifact paths; they are moved to the copy as `segml relocate-store`
    moves them, so its runs never write into the source project."""
    shutil.copytree(source, target, symlinks=True)
    if (target / "mlflow.db").exists():  # never run: no store to move (nor to create)
        relocate(f"sqlite:///{target / 'mlflow.db'}", str(source.resolve()))
    return target


@dataclass(frozen=True)
class DemoSpec:
    """A demo project's recipe: `segml generate` with `generate`, then, unless `run` is None,
    `segml run` with `run` (its output and exports kept in `first_run/` beside the project).
    A new kind of demo (another `--shape`, subscriptions, ...) is one more spec."""

    name: str
    generate: tuple[str, ...]
    run: tuple[str, ...] | None = (NO_PREVIOUS,)
    command: str = "run"  # or "demo" (`segml demo --shape ...` runs a generated demo's files)
    pseudonymised: bool = False  # ids pseudonymised in its conf/, the whole table logged too


# the demo most end-to-end tests read: 1,500 generated customers through every stage, as a company
# that must pseudonymise runs it: every run made from it is also scanned for clear ids
# (tests/e2e/leaks.py). The subscription and both demos run in clear.
DEMO = DemoSpec("demo", ("--customers", "1500", "--seed", "7"), pseudonymised=True)
PSEUDONYMISED = {
    "export/default.yaml": ("pseudonymize_ids: false", "pseudonymize_ids: true"),
    "tracking/default.yaml": ("log_full_table: false", "log_full_table: true"),  # more to scan
}


def pseudonymise(root: Path) -> None:
    """Switch a project to pseudonymised ids in its own conf/, so its users' commands (the README's,
    as they are written) run pseudonymised; the salt is in ENV."""
    for name, (before, after) in PSEUDONYMISED.items():
        path = root / "conf" / name
        text = path.read_text(encoding="utf-8")
        assert before in text, (path, before)
        path.write_text(text.replace(before, after), encoding="utf-8")


FIRST_RUN = "first_run"
EXPORTS_KEPT = ("tiers.parquet", "tiers.csv", "tiers.xlsx")


def build_project(spec: DemoSpec, folder: Path) -> Path:
    """`spec` built in `folder`/project (`folder`/first_run beside it)."""
    root = new_project(folder / "project")
    if spec.pseudonymised:
        pseudonymise(root)
    sh([*SEGML, "generate", *spec.generate], root)
    if spec.run is not None:
        run = sh([*SEGML, spec.command, *spec.run], root)
        keep = folder / FIRST_RUN
        keep.mkdir()
        (keep / "output.txt").write_text(run.stdout + run.stderr, encoding="utf-8")
        for name in EXPORTS_KEPT:
            shutil.copy(root / "exports" / name, keep / name)
    return root


def built_once(spec: DemoSpec, shared: Path) -> Path:
    """`spec`'s project, built once per test session in `shared` (a folder all pytest-xdist
    workers see), whichever worker asks first; the others wait for it on a file lock. Never
    change it: read it through `copy_built`. A build that failed is retried by the next asker."""
    shared.mkdir(parents=True, exist_ok=True)
    folder, done = shared / spec.name, shared / f"{spec.name}.done"
    with open(shared / f"{spec.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build_project(spec, folder)
            done.write_text(repr(spec), encoding="utf-8")
    return folder / "project"


def copy_built(built: Path, folder: Path) -> Path:
    """A copy of a built project (and its `first_run/`) as `folder`/project, for one worker or
    one test to use and change."""
    first = built.parent / FIRST_RUN
    if first.exists():
        shutil.copytree(first, folder / FIRST_RUN)
    return copy_project(built, folder / "project")


def stages_run(result: subprocess.CompletedProcess) -> set[str]:
    """The DVC stages a `segml run` ran, from the stages' own lines ("✓ train done in 12.3s"):
    DVC's own progress lines go to logs/dvc-repro.log, not to the console."""
    return set(re.findall(r"^✓ (\w+) done in ", result.stderr + result.stdout, re.MULTILINE))


def assert_same_backtest_keys(runs) -> None:
    """The backtest means of models and baselines have the same names in every MLflow run (of
    any period, settings or scorer in production)."""
    means = ("churn.model.", "churn.baseline_", "upside.model.", "upside.baseline_")
    varying = {"churn.model.best_iteration", "upside.model.best_iteration"}
    keys = [{k for k in r.data.metrics if k.startswith(means)} - varying for r in runs]
    assert keys[0] and all(k == keys[0] for k in keys), keys
