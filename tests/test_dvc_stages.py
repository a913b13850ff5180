"""dvc.yaml lists, for each stage, exactly the library modules its script runs and its own script:
a module missing lets its outputs go stale when it changes; one too many, or another stage's
script, reruns the stage for nothing (a report sentence must not rerun train). `make dvc-deps`
(tools/dvc_deps.py) rewrites the library deps from the imports."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import ROOT
from tools.dvc_deps import (
    DepsError,
    differences,
    library_deps,
    modules_run_by,
    stage_script,
    synced,
)


def dvc_stages() -> dict:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    assert stages, "dvc.yaml has no stages"
    return stages


def test_every_stage_depends_on_exactly_the_modules_it_runs():
    wrong = {}
    for name, stage in dvc_stages().items():
        listed = {d for d in stage["deps"] if d.startswith("src/segml/")}
        needed = set(library_deps(stage_script(stage)))
        if listed != needed:
            wrong[name] = {"missing": sorted(needed - listed), "needless": sorted(listed - needed)}
    assert not wrong, f"fix the stages' library deps in dvc.yaml (`make dvc-deps`): {wrong}"


def test_every_stage_lists_its_own_script_and_no_other():
    wrong = {}
    for name, stage in dvc_stages().items():
        scripts = [d for d in stage["deps"] if d.startswith("pipelines/")]
        if scripts != [stage_script(stage)]:
            wrong[name] = scripts
    assert not wrong, f"each stage's deps list its own script only: {wrong}"


def test_imports_are_followed_through_the_library_but_not_into_the_console():
    run = modules_run_by(ROOT / "pipelines" / "train.py")
    assert {"stages.train", "models.training", "models.scorers", "features.build"} <= run
    assert "app.console" not in run  # progress and messages never change an output
    assert not any(m.startswith("reporting.") and m != "reporting.plots" for m in run)


STAGE = """\
stages:
  train:
    cmd: python pipelines/train.py
    deps:
      - pipelines/train.py
{libs}      - ${{paths.features_dir}}
    params:
      - churn
"""


def lines(deps: list[str]) -> str:
    return "".join(f"      - {d}\n" for d in deps)


def test_the_tool_rewrites_only_the_library_deps():
    needed = library_deps("pipelines/train.py")
    wrong = ["src/segml/reporting/report.py", *needed[1:]]  # one needless, one missing
    text = STAGE.format(libs=lines(wrong))
    assert differences(text) == {
        "train": {"missing": needed[:1], "needless": ["src/segml/reporting/report.py"]}
    }
    fixed = synced(text)
    assert fixed == STAGE.format(libs=lines(needed)) and differences(fixed) == {}
    assert synced(fixed) == fixed
    assert synced((ROOT / "dvc.yaml").read_text(encoding="utf-8")) == (ROOT / "dvc.yaml").read_text(
        encoding="utf-8"
    )


def test_the_tool_resolves_a_merge_conflict_in_library_deps_only():
    needed = library_deps("pipelines/train.py")
    both_sides = (
        f"<<<<<<< HEAD\n{lines(needed[:3])}=======\n"
        f"{lines(['src/segml/reporting/report.py'])}>>>>>>> theirs\n"
    )
    assert synced(STAGE.format(libs=both_sides)) == STAGE.format(libs=lines(needed))
    in_params = STAGE.replace("      - churn\n", "<<<<<<< a\n      - churn\n=======\n>>>>>>> b\n")
    with pytest.raises(DepsError, match="resolve it by hand"):
        synced(in_params.format(libs=lines(needed)))
    no_script = STAGE.replace("      - pipelines/train.py\n", "")
    with pytest.raises(DepsError, match=r"without their script.*\['train'\]"):
        synced(no_script.format(libs=lines(needed)))
