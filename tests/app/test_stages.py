"""One stage API: the DVC scripts, the in-memory pipeline and `segml score` call the same stage
functions (`segml.stages.<stage>.run`), through one orchestrator (`segml.app.pipeline`)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pandas as pd
import yaml

from segml.app import cli, engine, pipeline
from segml.app.params import compose
from segml.config import ENGINES, DaskConfig, to_typed
from segml.data.catalog import Catalog
from segml.stages.step import Step
from tests.conftest import ROOT


def stage_runs(script: Path) -> list:
    """The `segml.stages.<stage>.run` functions the script calls, in the order it calls them."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    modules = {
        alias.asname or alias.name: f"segml.stages.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "segml.stages"
        for alias in node.names
    }
    calls = [
        node.func.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in modules
    ]
    return [importlib.import_module(modules[name]).run for name in calls]


def dvc_scripts() -> dict[str, Path]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    return {name: ROOT / stage["cmd"].split()[-1] for name, stage in stages.items()}


def test_dvc_scripts_run_the_pipelines_stages_in_order():
    """Each DVC stage's script calls its stage's function (export then records the run); in
    dvc.yaml's order they are the orchestrator's pipeline."""
    runs = {name: stage_runs(script) for name, script in dvc_scripts().items()}
    assert all(runs.values()), f"scripts calling no stage function: {runs}"
    assert [pipeline.stage_name(r) for r in runs["export"]] == ["export", "record"]
    called = [run for name in runs for run in runs[name] if pipeline.stage_name(run) != "record"]
    assert tuple(called) == pipeline.PIPELINE
    for name, script in dvc_scripts().items():
        assert pipeline.stage_name(runs[name][0]) == name == script.stem


def test_scoring_shares_the_pipelines_stage_functions():
    shared = [run for run in pipeline.SCORING if run in pipeline.PIPELINE]
    assert [pipeline.stage_name(r) for r in shared] == ["prepare", "tier", "audit", "export"]
    # and records its run as the pipeline's export script does (a period of its own)
    assert [pipeline.stage_name(r) for r in pipeline.SCORING] == [
        "prepare",
        "snapshot",
        "tier",
        "audit",
        "export",
        "record",
    ]


def test_no_stage_script_or_stage_asks_which_engine_it_has():
    code = [*(ROOT / "pipelines").glob("*.py"), *(ROOT / "src" / "segml").rglob("*.py")]
    found = [str(p.relative_to(ROOT)) for p in code if "engine ==" in p.read_text(encoding="utf-8")]
    assert not found
    assert set(engine.ENGINES) == set(ENGINES)  # every engine config accepts has a factory


def test_run_pipeline_and_score_run_the_orchestrators_lists(monkeypatch):
    ran = []
    monkeypatch.setattr(pipeline, "run_stages", lambda stages, *a, **k: ran.extend(stages))
    monkeypatch.setattr(pipeline, "pipeline_result", lambda catalog: None)
    monkeypatch.setattr(pipeline, "check_history", lambda *a: None)
    cfg = to_typed(compose([], conf_dir=ROOT / "conf"))
    pipeline.run_pipeline(pd.DataFrame(), None, cfg)
    assert tuple(ran) == pipeline.PIPELINE
    ran.clear()
    catalog = Catalog.from_config(cfg.paths).in_memory()
    catalog.write("prepared_transactions", pd.DataFrame())
    pipeline.score(cfg, catalog)
    assert tuple(ran) == pipeline.SCORING
    # and `segml score` is that function
    tree = ast.parse(Path(cli.__file__).read_text(encoding="utf-8"))
    (score,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_score"]
    assert "pipeline.score" in ast.unparse(score)


def test_engines_run_a_step_whole_unless_they_split_it():
    def split(parts, x):
        return parts.map(lambda k: k * x, [1, 2, 3])

    step, whole_only = Step(lambda x: [x], split), Step(lambda x: [x])
    assert engine.LocalEngine().run(step, 2) == [2]
    # no per-partition form: in this process, no cluster opened
    assert engine.DaskEngine(DaskConfig(address="tcp://no-such-host:1")).run(whole_only, 2) == [2]
    cfg = to_typed(compose(["engine=dask"], conf_dir=ROOT / "conf"))
    assert isinstance(engine.engine_for(cfg), engine.DaskEngine)
