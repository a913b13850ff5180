"""dvc.yaml lists, for each stage, every library module its script runs: otherwise editing that
module would not rerun the stage, and its outputs would silently go stale."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tests.conftest import ROOT

# Modules that cannot change what a stage writes (progress display and error messages); their
# imports are not followed either.
OUTPUT_NEUTRAL = {"app.console"}
SRC = ROOT / "src"


def module_file(dotted: str) -> Path | None:
    """segml.a.b -> src/segml/a/b.py (None for a package itself)."""
    path = SRC / (dotted.replace(".", "/") + ".py")
    return path if path.exists() else None


def segml_imports(path: Path) -> set[str]:
    """Dotted names (below segml.) of the segml modules that the file imports directly."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("segml"):
            for alias in (
                node.names
            ):  # `from segml.pkg import module` or `from segml.pkg.module import name`
                as_module = f"{node.module}.{alias.name}"
                found.add(as_module if module_file(as_module) else node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("segml.")}
    return {name.removeprefix("segml.") for name in found if module_file(name)}


def modules_run_by(script: Path) -> set[str]:
    """Every segml module the script imports, directly or through other segml modules."""
    seen: set[str] = set()
    todo = segml_imports(script) - OUTPUT_NEUTRAL
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo |= segml_imports(module_file(f"segml.{module}")) - OUTPUT_NEUTRAL
    return seen


def test_every_stage_depends_on_the_modules_it_runs():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert stages, "dvc.yaml has no stages"
    missing = {}
    for name, stage in stages.items():
        script = stage["cmd"].split()[-1]
        needed = {f"src/segml/{m.replace('.', '/')}.py" for m in modules_run_by(ROOT / script)}
        if needed - set(stage["deps"]):
            missing[name] = sorted(needed - set(stage["deps"]))
    assert not missing, f"add these to the stages' deps in dvc.yaml: {missing}"
