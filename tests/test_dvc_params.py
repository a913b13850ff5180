"""Every dvc.yaml stage lists among its `params` each config key its code reads, or DVC would not
rerun it when that key changes and its outputs would silently go stale.

A stage's code is its script and the `segml.stages` modules the script runs: that layer unpacks
the typed config (`cfg: Config`) and hands library functions groups and values, never the whole
config. So the keys it reads are the `cfg.<group>` and `cfg.<group>.<key>` attribute chains there,
found statically (a method call on a group, `cfg.data.read_options()`, reads the group). Handing
the whole `cfg` to a library function hides what it reads: allowed only for the functions below,
each with the reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from tests.conftest import ROOT
from tools.dvc_deps import modules_run_by, stage_script

# Library functions a stage may hand the whole config, and why its params need not list what
# they read.
WHOLE_CONFIG = {
    "segml.app.engine.engine_for": "it picks where a step runs (`engine`, `dask`), not what it "
    "writes; the stages whose outputs it shapes (partition folders) list `engine` and "
    "`dask.partitions` themselves",
    "segml.reporting.run_logger.record_pipeline_run": "the MLflow record logs every parameter "
    "(params.yaml) with the run; MLflow is no DVC output",
    "segml.reporting.run_logger.record_scoring_run": "as record_pipeline_run, for `segml score`",
    "segml.reporting.run_history.export_of": "it names the export a period belongs to from "
    "`paths.raw_transactions` and `data.columns`, which the stages calling it list",
    "segml.data.parts.part_config": "a part of a `data.kind: both` project sees the stage's "
    "config with `data.kind` set to the part (it reads no other key); the stage reads that config "
    "as its own, so its params cover what it reads",
    "segml.tiering.feature_names.check_subscriber_names": "it writes nothing (it stops or lets "
    "the stage run); the keys it reads (`data.kind`, `data.usage`, `data.customer_columns`, "
    "`features.subscriptions`, `tiering`) are the tier stage's params",
}
# Reads covered otherwise, and why.
COVERED_OTHERWISE = {
    "paths": "the catalog (`Catalog.from_config(cfg.paths)`): the files a stage reads and writes "
    "are its deps and outs in dvc.yaml, by their `${paths.…}` names",
}
# The engine runs the calling module's own step (`Step(whole, per_partition)` of that module),
# whose reads are collected with the module's.
SAME_MODULE_CALLS = {"engine.run"}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name of what it refers to."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names |= {a.asname or a.name: f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.asname or a.name: a.name for a in node.names}
    return names


def _callee(func: ast.expr, imports: dict[str, str], module: str, defined: set[str]) -> str:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return ast.unparse(func)
    base = imports.get(func.id) or (f"{module}.{func.id}" if func.id in defined else func.id)
    return ".".join([base, *parts])


def _config_names(fn: ast.FunctionDef) -> set[str]:
    """The function's names for the whole config: parameters typed `Config`, and names assigned
    `load_config()` (the scripts)."""
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    typed = {
        a.arg for a in args if a.annotation is not None and ast.unparse(a.annotation) == "Config"
    }
    loaded = {
        target.id
        for node in ast.walk(fn)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "load_config"
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return typed | loaded


def config_reads(path: Path, module: str) -> tuple[set[str], set[str]]:
    """The config keys the file reads (`group` or `group.key`, ...) and the functions it hands the
    whole config to (dotted names; calls within `module` are named `<module>.<function>`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imports = _imports(tree)
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    reads, handed = set(), set()
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        names = _config_names(fn)
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Name) and node.id in names):
                continue
            chain, top = [], node
            while isinstance(parents.get(top), ast.Attribute):
                top = parents[top]
                chain.append(top.attr)
            call = parents.get(top)
            if chain and isinstance(call, ast.Call) and call.func is top:  # a method of the group
                chain.pop()
            if chain:
                reads.add(".".join(chain))
            elif isinstance(call, ast.Call) and call.func is not top:
                handed.add(_callee(call.func, imports, module, defined))
            elif isinstance(call, ast.keyword):
                handed.add(_callee(parents[call].func, imports, module, defined))
    return reads, handed


def stage_code(script: str) -> dict[str, Path]:
    """The stage's own code: its script and the `segml.stages` modules the script runs."""
    modules = sorted(m for m in modules_run_by(ROOT / script) if m.startswith("stages."))
    code = {f"segml.{m}": ROOT / "src" / "segml" / (m.replace(".", "/") + ".py") for m in modules}
    return {script.removesuffix(".py").replace("/", "."): ROOT / script, **code}


def uncovered(reads: set[str], params: list[str]) -> list[str]:
    return sorted(
        read
        for read in reads
        if read not in COVERED_OTHERWISE
        and not any(read == p or read.startswith(f"{p}.") for p in params)
    )


def test_every_stage_lists_the_config_keys_it_reads():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    missing, hidden, used = {}, {}, set()
    for name, stage in stages.items():
        code = stage_code(stage_script(stage))
        reads, handed = set(), set()
        for module, path in code.items():
            found = config_reads(path, module)
            reads |= found[0]
            handed |= found[1]
        inside = {h for h in handed if h in SAME_MODULE_CALLS or h.rsplit(".", 1)[0] in code}
        hidden[name] = sorted(handed - inside - set(WHOLE_CONFIG))
        used |= handed & set(WHOLE_CONFIG)
        missing[name] = uncovered(reads, [str(p) for p in stage.get("params", [])])
    missing = {k: v for k, v in missing.items() if v}
    hidden = {k: v for k, v in hidden.items() if v}
    assert not missing, f"add these config keys to the stages' params in dvc.yaml: {missing}"
    assert not hidden, (
        f"stages hand the whole config to library functions: {hidden}; pass the groups or "
        "values they need (or, with a reason, list the function in WHOLE_CONFIG)"
    )
    assert used == set(WHOLE_CONFIG), f"unused WHOLE_CONFIG entries: {set(WHOLE_CONFIG) - used}"


STAGE = """
from segml.config import Config
from segml.library import build, log_all
from segml.stages.step import Engine, Step


def whole(cfg: Config, catalog):
    return build(cfg.features, cfg.labels.horizon_days, cfg.data.read_options(), cfg.as_of)


STEP = Step(whole)


def helper(settings):  # another type: not the config
    return settings.churn


def run(cfg: Config, catalog, engine: Engine) -> None:
    engine.run(STEP, cfg, catalog)
    log_all(cfg)
    whole(catalog=catalog, cfg=cfg)
"""


def test_reads_and_hand_offs_are_found_as_stated(tmp_path):
    path = tmp_path / "stage.py"
    path.write_text(STAGE, encoding="utf-8")
    reads, handed = config_reads(path, "segml.stages.stage")
    assert reads == {"features", "labels.horizon_days", "data", "as_of"}
    assert handed == {"engine.run", "segml.library.log_all", "segml.stages.stage.whole"}
    assert uncovered(reads, ["features", "labels", "as_of"]) == ["data"]
    assert uncovered({"labels"}, ["labels.horizon_days"]) == ["labels"]  # a key is not its group
    assert uncovered({"paths"}, []) == []


def test_a_stage_reading_a_phrase_table_depends_on_its_file():
    """The phrase tables (conf/words/: tiering.reasons' groups, ..., export.headers) are not in
    params.yaml, so no DVC param covers them: a stage whose code reads one (the table, or a group
    holding it) lists its file among the stage's deps, or an edited phrase would never rerun it."""
    from segml.app.params import WORDS_DIR

    files = sorted((ROOT / "conf" / WORDS_DIR).glob("*.yaml"))
    tables = {
        key: path.relative_to(ROOT).as_posix()
        for path in files
        for key in yaml.safe_load(path.read_text(encoding="utf-8"))
    }
    assert {"tiering.reasons.groups", "export.headers"} <= set(tables)
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    missing = {}
    for name, stage in stages.items():
        reads = set()
        for module, path in stage_code(stage_script(stage)).items():
            reads |= config_reads(path, module)[0]
        needed = {
            file
            for key, file in tables.items()
            for read in reads
            if key == read or key.startswith(f"{read}.") or read.startswith(f"{key}.")
        }
        if needed - set(stage.get("deps", [])):
            missing[name] = sorted(needed - set(stage.get("deps", [])))
    assert not missing, f"add these files to the stages' deps in dvc.yaml: {missing}"
