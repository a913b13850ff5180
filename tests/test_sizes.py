"""Size limits that keep each module one job and each function readable at a glance: no module in
src/segml over 600 lines, no function or method over 80 (a class may be longer; its methods may
not). Past a limit, split along the stage graph or into named steps (README, Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def sizes(path: Path) -> tuple[int, list[tuple[str, int]]]:
    """The module's lines, and each function's or method's (nested ones too) name and lines, from
    its `def` line to its last line."""
    text = path.read_text(encoding="utf-8")
    functions = [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(text))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    return len(text.splitlines()), functions


def over_limits(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        lines, functions = sizes(path)
        name = path.relative_to(root.parent.parent)  # src/<package>/...
        if lines > MAX_MODULE_LINES:
            found.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
        found += [
            f"{name}: {function}() is {n} lines (at most {MAX_FUNCTION_LINES})"
            for function, n in functions
            if n > MAX_FUNCTION_LINES
        ]
    return found


def test_no_module_over_600_lines_and_no_function_over_80():
    found = over_limits(ROOT / "src" / "segml")
    assert not found, "split these along their steps:\n" + "\n".join(found)


def test_the_limits_are_measured_as_stated(tmp_path):
    """A module of 601 lines and a method of 81 are caught; 600 and 80 pass."""
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    body = "\n".join(f"    x{i} = {i}" for i in range(78))  # def line + 78 + return = 80 lines
    method = f"class A:\n    def ok(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n        return 0\n"
    (package / "fine.py").write_text(method + "\n" * (600 - len(method.splitlines())))
    assert sizes(package / "fine.py") == (600, [("ok", 80)])
    assert over_limits(package) == []
    (package / "long.py").write_text(method.replace("return 0", "y = 1\n        return 0") + "\n")
    (package / "big.py").write_text("x = 1\n" * 601)
    assert over_limits(package) == [
        "src/pkg/big.py: 601 lines (at most 600)",
        "src/pkg/long.py: ok() is 81 lines (at most 80)",
    ]
