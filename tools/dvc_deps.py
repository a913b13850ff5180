"""`make dvc-deps`: each dvc.yaml stage's library deps, computed from what its script imports.

    python tools/dvc_deps.py           rewrite the `src/segml/*.py` deps of every stage
    python tools/dvc_deps.py --check   change nothing; list the differences, exit 1 if any

A stage's library deps are exactly the segml modules its script (`pipelines/<stage>.py`, the last
word of its `cmd`) imports, directly or through other segml modules: one missing lets a stale
output pass, one too many reruns the stage for nothing (a report sentence must not rerun train).
tests/test_dvc_stages.py checks the same with these functions. The rewrite touches only those
lines, which it puts right after the stage's script line, sorted; everything else stays as
written. A merge conflict whose sides differ only in such lines is resolved by recomputing them;
any other conflict is left to be resolved by hand first.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Modules that cannot change what a stage writes (progress display and error messages); their
# imports are not followed either.
OUTPUT_NEUTRAL = {"app.console"}
LIBRARY_DEP = re.compile(r"^\s+- src/segml/\S+\.py\s*(#.*)?$")
SCRIPT_DEP = re.compile(r"^(\s+)- (pipelines/\S+\.py)\s*(#.*)?$")
STAGE = re.compile(r"^  ([\w-]+):\s*$")
CONFLICT = re.compile(r"^(<<<<<<<|\|\|\|\|\|\|\||=======|>>>>>>>)")


class DepsError(ValueError):
    """dvc.yaml cannot be rewritten safely (a conflict in other lines, a stage without its script)."""


def module_file(dotted: str, root: Path = ROOT) -> Path | None:
    """segml.a.b -> src/segml/a/b.py (None for a package itself, or no such module)."""
    path = root / "src" / (dotted.replace(".", "/") + ".py")
    return path if path.exists() else None


def segml_imports(path: Path, root: Path = ROOT) -> set[str]:
    """Dotted names (below segml.) of the segml modules that the file imports directly."""
    found = set()
    for module, names in _imported_names(path.read_text(encoding="utf-8")):
        # `from segml.pkg import module` or `from segml.pkg.module import name`
        for name in names:
            as_module = f"{module}.{name}" if name else module
            found.add(as_module if module_file(as_module, root) else module)
    return {name.removeprefix("segml.") for name in found if module_file(name, root)}


@functools.cache
def _imported_names(source: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(module, names imported from it) of each segml import in `source` (`import segml.x`: the
    name ""). Cached by text: the tests follow every stage's imports, each module many times."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("segml"):
            found.append((node.module, tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.Import):
            found += [(a.name, ("",)) for a in node.names if a.name.startswith("segml.")]
    return tuple(found)


def modules_run_by(script: Path, root: Path = ROOT) -> set[str]:
    """Every segml module the script imports, directly or through other segml modules."""
    seen: set[str] = set()
    todo = segml_imports(script, root) - OUTPUT_NEUTRAL
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo |= segml_imports(module_file(f"segml.{module}", root), root) - OUTPUT_NEUTRAL
    return seen


def library_deps(script: str, root: Path = ROOT) -> list[str]:
    """The deps lines a stage running `script` needs: src/segml/<module>.py, sorted."""
    return sorted(
        f"src/segml/{m.replace('.', '/')}.py" for m in modules_run_by(root / script, root)
    )


def stage_script(stage: dict) -> str:
    """The stage's own script: the last word of its command (`python pipelines/<stage>.py`)."""
    return stage["cmd"].split()[-1]


def _without_dep_conflicts(lines: list[str]) -> list[str]:
    """The lines with every conflict whose sides hold only library deps taken out (they are
    recomputed); raises on any other conflict."""
    out, hunk, start = [], None, 0
    for n, line in enumerate(lines, 1):
        marker = CONFLICT.match(line)
        if marker and marker.group(1) == "<<<<<<<":
            hunk, start = [], n
        elif marker and hunk is not None and marker.group(1) == ">>>>>>>":
            wrong = [x for x in hunk if x.strip() and not LIBRARY_DEP.match(x)]
            if wrong:
                raise DepsError(
                    f"dvc.yaml line {start}: a merge conflict in more than library deps "
                    f"({wrong[0].strip()!r}): resolve it by hand, then run this again"
                )
            hunk = None
        elif marker is None and hunk is not None:
            hunk.append(line)
        elif marker is None:
            out.append(line)
        elif hunk is None:
            raise DepsError(f"dvc.yaml line {n}: a conflict marker outside a conflict")
    if hunk is not None:
        raise DepsError(f"dvc.yaml line {start}: a conflict that never ends")
    return out


def synced(text: str, root: Path = ROOT) -> str:
    """dvc.yaml's text with each stage's library deps recomputed from its script's imports."""
    lines = _without_dep_conflicts(text.splitlines(keepends=True))
    stages = yaml.safe_load("".join(lines))["stages"]
    out, stage, placed = [], None, set()
    for line in lines:
        found = STAGE.match(line)
        if found:
            stage = found.group(1)
        if LIBRARY_DEP.match(line):
            continue
        out.append(line)
        script = SCRIPT_DEP.match(line)
        if stage in stages and script and script.group(2) == stage_script(stages[stage]):
            out += [f"{script.group(1)}- {dep}\n" for dep in library_deps(script.group(2), root)]
            placed.add(stage)
    unplaced = sorted(set(stages) - placed)
    if unplaced:
        raise DepsError(
            f"stages without their script among their deps: {unplaced} "
            "(add `- pipelines/<stage>.py` as the first dep)"
        )
    return "".join(out)


def differences(text: str, root: Path = ROOT) -> dict[str, dict[str, list[str]]]:
    """Per stage whose library deps are not its script's imports: the `missing` and `needless`."""
    found = {}
    for name, stage in yaml.safe_load(text)["stages"].items():
        listed = {d for d in stage.get("deps", []) if d.startswith("src/segml/")}
        needed = set(library_deps(stage_script(stage), root))
        if listed != needed:
            found[name] = {"missing": sorted(needed - listed), "needless": sorted(listed - needed)}
    return found


def main(argv: list[str]) -> int:
    path = ROOT / "dvc.yaml"
    text = path.read_text(encoding="utf-8")
    try:
        new = synced(text)
    except DepsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if new == text:
        print("dvc.yaml: every stage's library deps are what its script imports")
        return 0
    if "--check" in argv:
        print("dvc.yaml's library deps differ from the imports (`make dvc-deps` rewrites them):")
        for name, diff in differences(text).items():
            print(f"  {name}: missing {diff['missing']}, needless {diff['needless']}")
        return 1
    path.write_text(new, encoding="utf-8")
    print("dvc.yaml: library deps rewritten from the stages' imports (review with `git diff`)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
