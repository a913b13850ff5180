"""The package layout is the stage graph: dependencies point one way, from the app down to data."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

# lower layers never import higher ones; config (with typed_merge, which types it), errors and
# machine sit below everything and import none of the layers (params.yaml is written by
# segml.app.params)
LAYERS = ["app", "stages", "reporting", "tiering", "models", "features", "data"]
BASE = {"config", "typed_merge", "errors", "machine"}
ALLOWED: set[tuple[str, str]] = set()  # (layer, package) exceptions: none


def imported_packages(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("segml"):
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("segml.")}
    return found


def test_dependencies_point_from_the_app_down_to_data():
    wrong = []
    for path in sorted((ROOT / "src" / "segml").rglob("*.py")):
        layer = path.relative_to(ROOT / "src" / "segml").parts[0].removesuffix(".py")
        rank = LAYERS.index(layer) if layer in LAYERS else len(LAYERS)  # base modules: lowest
        for package in imported_packages(path) - BASE - {layer}:
            if (layer, package) in ALLOWED:
                continue
            if package not in LAYERS or LAYERS.index(package) < rank:
                wrong.append(f"{path.relative_to(ROOT)} imports segml.{package}")
    assert not wrong, "imports against the stage graph: " + "; ".join(wrong)


def test_no_file_names_in_code():
    """Every artifact's file (the project's, and those inside an MLflow run) lives under a name in
    conf/paths; code reads and writes by that name."""
    pattern = re.compile(r"""["'][\w./{}-]+\.(parquet|json|pkl|csv|xlsx|html|png|txt)["']""")
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for folder in ("src", "pipelines")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, "file names written in code (put them in conf/paths):\n" + "\n".join(found)
