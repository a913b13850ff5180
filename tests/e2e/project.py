"""Temporary segml projects for the end-to-end tests: a real git + DVC repository with the
repository's conf/, pipelines/ and src/, driven through the real CLI in subprocesses."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SEGML = [sys.executable, "-m", "segml.app.cli"]
NO_PREVIOUS = "tiering.previous=null"  # byte-identical reruns need no movement columns

# stages run `python ...`, as after `source .venv/bin/activate`
ENV = {
    **os.environ,
    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
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

    MLflow stores absolute artifact paths; they are moved to the copy, so its runs never write
    into the source project."""
    shutil.copytree(source, target, symlinks=True)
    old, new = str(source.resolve()), str(target.resolve())
    with sqlite3.connect(target / "mlflow.db") as db:
        tables = [t for (t,) in db.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for _, column, kind, *_ in db.execute(f"pragma table_info('{table}')"):
                if any(text in kind.upper() for text in ("CHAR", "TEXT", "CLOB")):
                    db.execute(
                        f'update "{table}" set "{column}" = replace("{column}", ?, ?) '
                        f'where instr("{column}", ?) > 0',
                        (old, new, old),
                    )
    return target


def stages_run(result: subprocess.CompletedProcess) -> set[str]:
    """The DVC stages a `segml run` ran, from the stages' own lines ("✓ train done in 12.3s"):
    DVC's own progress lines go to logs/dvc-repro.log, not to the console."""
    return set(re.findall(r"^✓ (\w+) done in ", result.stderr + result.stdout, re.MULTILINE))
