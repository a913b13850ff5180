"""params.yaml: composing `conf/` into it, and refusing to run on a stale one.

Why two steps: `dvc repro` never composes Hydra configs and `dvc exp run` composes them into
`params.yaml`. So `params.yaml` is the one input every stage reads (DVC tracks its keys per stage),
and `check_fresh` refuses to run when `conf/` says something else, so an edit to `conf/` can never
be silently ignored. Its header records the overrides it was composed with and a digest of its
inputs, so a fresh file is known without composing again. `load_config` is every stage's entry
point; the schema it returns is `segml.config`'s. The phrase tables of `conf/words/` are part of
that config but not of params.yaml (`with_words`, below).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from omegaconf import OmegaConf

from segml.config import (
    PARAMS_FILE,
    Config,
    ExportConfig,
    recorded_overrides,
    salt_fingerprint,
    to_typed,
    with_salt_fingerprint,
)
from segml.data.io import parse_yaml, write_text
from segml.data.provenance import file_digest
from segml.errors import ConfigError

CONF_DIR = "conf"


def compose(overrides: list[str] | None = None, conf_dir: str | Path = CONF_DIR) -> dict:
    """Compose `conf/` with Hydra overrides (e.g. ``labels.horizon_days=60``) into a plain dict.

    An override Hydra cannot read, or one naming a setting `conf/` does not have, stops with a
    ConfigError saying how to write it (quotes) or which setting was meant (did you mean)."""
    overrides = list(overrides or [])
    composed = _hydra_composed(overrides, conf_dir)
    tables = words(conf_dir)
    twice = [key for key in tables if _setting(composed, key) is not None]
    if twice:  # e.g. a conf/tiering file from before the tables moved to conf/words/
        raise ConfigError(
            f"`{twice[0]}` is set twice: in conf/ (a Hydra group's file) and in "
            f"{Path(conf_dir, WORDS_DIR)}/, which fills it. Keep it in {WORDS_DIR}/ only: delete it "
            "from the group's file."
        )
    return with_salt_fingerprint(_filled(composed, tables))


# Hydra's composition depends on conf/'s files and the overrides alone, and takes 0.25 s: a
# process that composes the same again (the did-you-mean below, the tests) gets a copy.
_COMPOSED: dict[tuple[str, tuple[str, ...]], dict] = {}


def _hydra_composed(overrides: list[str], conf_dir: str | Path) -> dict:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import ConfigCompositionException, OverrideParseException

    key = (conf_digest(conf_dir), tuple(overrides))
    if key[0] and key in _COMPOSED:
        return copy.deepcopy(_COMPOSED[key])
    try:
        with initialize_config_dir(str(Path(conf_dir).resolve()), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except OverrideParseException as exc:
        raise ConfigError(_unreadable(overrides, exc)) from exc
    except ConfigCompositionException as exc:
        unknown = re.match(r"Could not override '([^']+)'", str(exc))
        if not unknown:
            raise
        raise ConfigError(_unknown_setting(unknown[1], compose([], conf_dir), conf_dir)) from exc
    composed = OmegaConf.to_container(cfg, resolve=True)
    # kept only when conf/ can be fingerprinted and was not edited while Hydra read it
    if key[0] and conf_digest(conf_dir) == key[0]:
        _COMPOSED[key] = copy.deepcopy(composed)
    return composed


def _setting(raw: dict, key: str) -> Any:
    """The value at a dotted key of a composed config, or None."""
    node: Any = raw
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


# The phrase tables (tiering.reasons' groups, ..., export.headers) are files of their own under
# conf/words/, each top-level key naming the setting it fills: in the config every command and
# stage sees, never in params.yaml. So DVC tracks them as the files they are (deps of tier and
# export) instead of a copy of their text per stage in dvc.lock, which DVC parses and rewrites at
# every stage, and Hydra composes the settings alone (0.18 s instead of 0.41 s).
WORDS_DIR = "words"


def words(conf_dir: str | Path = CONF_DIR) -> dict[str, Any]:
    """Setting (dotted path) -> value, from every file of conf/words/ (none: {})."""
    return {key: value for key, (_, value) in _words_by_file(conf_dir).items()}


def _words_by_file(conf_dir: str | Path) -> dict[str, tuple[Path, Any]]:
    """Setting (dotted path) -> (the file of conf/words/ that fills it, its value)."""
    found: dict[str, tuple[Path, Any]] = {}
    for path in sorted(Path(conf_dir, WORDS_DIR).glob("*.yaml")):
        tables = parse_yaml(path.read_text(encoding="utf-8")) or {}
        found |= {key: (path, value) for key, value in tables.items()}
    return found


def with_words(raw: dict, conf_dir: str | Path = CONF_DIR) -> dict:
    """`raw` with the phrase tables of conf/words/ set in place (a setting already there is
    replaced: the words file is its one source)."""
    return _filled(raw, words(conf_dir))


def _filled(raw: dict, tables: dict[str, Any]) -> dict:
    for key, value in tables.items():
        *groups, name = key.split(".")
        node = raw
        for group in groups:
            node = node.setdefault(group, {})
        node[name] = value
    return raw


def without_words(raw: dict, conf_dir: str | Path = CONF_DIR) -> dict:
    """A copy of `raw` without the settings conf/words/ fills (what params.yaml holds)."""
    kept = copy.deepcopy(raw)
    for key in words(conf_dir):
        group, _, name = key.rpartition(".")
        node = _setting(kept, group) if group else kept
        if isinstance(node, dict):
            node.pop(name, None)
    return kept


def _unreadable(overrides: list[str], exc: Exception) -> str:
    """Hydra's parse error, with how to quote the override it could not read."""
    found = next((o for o in overrides if o in str(exc)), None)
    message = f"Cannot read the override {found or overrides}: {str(exc).splitlines()[0]}."
    if found and "=" in found:
        key, value = found.split("=", 1)
        if value[:1] not in "'\"":
            message += (
                f" Hydra reads only plain letters, digits and a few symbols unquoted: quote the "
                f"value, e.g. segml run \"{key}='{value}'\" (the outer quotes are for the shell)."
            )
    return message


def _unknown_setting(key: str, known: dict, conf_dir: str | Path = CONF_DIR) -> str:
    """`key` is not a setting of `conf/` (composed as `known`): the closest one, and its siblings;
    or the file of conf/words/ that fills it (a phrase table is edited there)."""
    for table, (path, _) in _words_by_file(conf_dir).items():
        if key == table or key.startswith(f"{table}."):
            return (
                f"`{key}` is a phrase table, not a setting to override: edit it in {path} (the "
                "stages that read it rerun when it changes)."
            )
    node, path = known, []
    for part in key.split("."):
        if isinstance(node, dict) and part in node:
            node, path = node[part], [*path, part]
            continue
        siblings = [str(k) for k in node] if isinstance(node, dict) else []
        close = difflib.get_close_matches(part, siblings, n=1, cutoff=0.6)
        rest = key.split(".")[len(path) + 1 :]
        where = ".".join(path) or "the top level"
        message = f"`{key}` is not a setting: conf/ has no `{part}` in {where}."
        if close:
            meant = ".".join([*path, close[0], *rest])
            message += f" Did you mean `{meant}`?"
        elif siblings:
            message += f" Settings there: {', '.join(sorted(siblings))}."
        return message + " (segml's settings are all in conf/: no `+` is needed to set one.)"
    return f"`{key}` cannot be overridden."


def write_params(
    raw: dict,
    path: str | Path = PARAMS_FILE,
    overrides: list[str] | None = None,
    conf_dir: str | Path = CONF_DIR,
    conf_state: str | None = None,
) -> None:
    """Write the composed config as params.yaml, with the overrides that produced it and the
    digest of its inputs (so `check_fresh` can tell it is fresh without composing again).

    `conf_state`: `conf_digest` taken before composing, so an edit saved meanwhile leaves
    params.yaml stale rather than fresh (taken now when not given)."""
    overrides = list(overrides or [])
    body = yaml.safe_dump(without_words(raw, conf_dir), sort_keys=False, allow_unicode=True)
    state = conf_digest(conf_dir) if conf_state is None else conf_state
    header = (
        "# GENERATED from conf/ by `segml compose` (or `dvc exp run`). Edit conf/, not this file.\n"
        f"# overrides: {_one_line(overrides)}\n"
        f"# inputs: {_inputs_digest(state, overrides, body) or 'not recorded'}\n"
    )
    write_text(header + body, path)


def conf_digest(conf_dir: str | Path = CONF_DIR) -> str:
    """SHA-256 over the files under `conf/` (symlinked folders followed, as Hydra follows them) and
    their paths; "" when it cannot stand for what Hydra reads (an unreadable file, or a search
    path that reaches outside `conf/`): stages then compose every time."""
    root = Path(conf_dir)
    walked = os.walk(root, followlinks=True)
    files = sorted(Path(folder) / name for folder, _, names in walked for name in names)
    try:
        if any("searchpath" in f.read_text(encoding="utf-8", errors="replace") for f in files):
            return ""
        names = json.dumps([f.relative_to(root).as_posix() for f in files])
        return hashlib.sha256(f"{names}\0{file_digest(*files)}".encode()).hexdigest()
    except OSError:
        return ""


def _inputs_digest(conf_state: str, overrides: list[str], body: str) -> str:
    """SHA-256 over what a composed params.yaml depends on: `conf/` (its `conf_digest`), the
    overrides, the salt in the environment when ids are pseudonymised (as its fingerprint), and
    the composed text itself (so a hand edit is seen); "" when `conf/` has no digest."""
    if not conf_state:
        return ""
    export = (parse_yaml(body) or {}).get("export") or {}
    salt_env = export.get("salt_env") or ExportConfig.salt_env
    salt = os.environ.get(salt_env, "") if export.get("pseudonymize_ids") else ""
    text = f"{conf_state}\0{json.dumps(overrides)}\0{salt_fingerprint(salt)}\0{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _params_parts(path: Path) -> tuple[str | None, str]:
    """The recorded inputs digest of params.yaml (None if it has none) and its YAML body."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines[:3] if line.startswith("#")]
    recorded = [line.removeprefix("# inputs:").strip() for line in header if "# inputs:" in line]
    return (recorded[0] if recorded else None), "".join(lines[len(header) :])


# characters YAML or Python's splitlines() take as a line break that JSON leaves unescaped
_HIDDEN_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _one_line(values: list[str]) -> str:
    """A YAML flow list on a single line, whatever the values hold (quotes, CJK, line breaks).

    JSON is valid YAML and never wraps; yaml.safe_dump wraps long lines, and a wrapped comment
    line is no longer a comment, which leaves params.yaml unreadable for DVC.
    """
    text = json.dumps(values, ensure_ascii=False)
    for char, escaped in _HIDDEN_LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text


def _first_difference(a: Any, b: Any, prefix: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                return where
            found = _first_difference(a[key], b[key], where)
            if found:
                return found
        return None
    return None if a == b else (prefix or "<root>")


def check_fresh(params_path: str | Path = PARAMS_FILE, conf_dir: str | Path = CONF_DIR) -> None:
    """Refuse to run on a params.yaml that no longer matches `conf/`.

    Inside `dvc exp run` DVC has just composed params.yaml itself (with any -S overrides), so it
    is fresh by construction and the check is skipped.
    """
    params_path = Path(params_path)
    if os.environ.get("DVC_EXP_NAME") or not Path(conf_dir).is_dir():
        return
    recorded, body = _params_parts(params_path)
    overrides = recorded_overrides(params_path)
    if recorded and recorded == _inputs_digest(conf_digest(conf_dir), overrides, body):
        return  # same conf files, overrides, salt and text: composing again (2-3 s) gives the same
    on_disk = parse_yaml(body)
    expected = without_words(compose(overrides, conf_dir), conf_dir)
    key = _first_difference(expected, on_disk)
    if key == "export.salt_fingerprint":
        raise ConfigError(
            f"The salt in the environment variable {expected['export']['salt_env']} differs from the one "
            f"{params_path} was composed with: run `segml run` so the export stage re-pseudonymises ids."
        )
    if key:
        raise ConfigError(
            f"{params_path} is out of date with {conf_dir}/ (first difference at `{key}`). "
            "`dvc repro` does not compose Hydra configs: run `segml run` (compose + repro), "
            "or `segml compose` then `dvc repro`, or `dvc exp run`."
        )


def load_config(params_path: str | Path = PARAMS_FILE, check: bool = True) -> Config:
    """Load params.yaml as a typed Config (the entry point of every stage)."""
    params_path = Path(params_path)
    if not params_path.exists():
        raise ConfigError(f"{params_path} not found: run `segml compose` to create it from conf/.")
    if check:
        check_fresh(params_path)
    raw = parse_yaml(params_path.read_text(encoding="utf-8"))
    return to_typed(with_words(raw, params_path.parent / CONF_DIR))  # the project's conf/words
