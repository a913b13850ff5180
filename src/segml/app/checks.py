"""The checks a composed config passes before `segml compose` or `segml run` writes params.yaml:
the schema, the features subscribers' rules name, the values' words, and the settings DVC's stages
list. Only the command line composes, so no stage depends on what is checked here."""

from __future__ import annotations

import json
from pathlib import Path

from omegaconf import OmegaConf

from segml.config import Config, to_typed
from segml.data import io
from segml.data.both import check_both_mapped
from segml.errors import ConfigError
from segml.tiering.feature_names import check_subscriber_names
from segml.tiering.value_words import value_words

_MISSING = object()


def checked(raw: dict, dvc_file: str | Path = "dvc.yaml") -> Config:
    """The composed config typed and checked: the schema (`to_typed`), the features subscribers'
    rules name, the values' words (`data.value_words`), and every setting `dvc.yaml` lists as a
    stage's parameter present (DVC stops on a missing one with a message that names no file to
    edit)."""
    typed = to_typed(raw)
    check_subscriber_names(typed)
    check_both_mapped(typed.data)
    value_words(typed.data.value_words, typed.data.customer_columns)
    if Path(dvc_file).exists():
        composed = OmegaConf.create(raw)
        for key in sorted(stage_params(io.read_yaml(dvc_file))):
            if OmegaConf.select(composed, key, default=_MISSING) is _MISSING:
                raise ConfigError(_missing(key))
    return typed


def stage_params(dvc: dict | None) -> set[str]:
    """The settings (dotted keys of params.yaml) the stages of a dvc.yaml list."""
    stages = (dvc or {}).get("stages", {})
    return {p for stage in stages.values() for p in stage.get("params", []) if isinstance(p, str)}


def _missing(key: str) -> str:
    """How to add a setting the user's conf/ lacks: where, and its default from the schema."""
    default = OmegaConf.select(OmegaConf.structured(Config), key)
    shown = OmegaConf.to_container(default) if OmegaConf.is_config(default) else default
    group, _, name = key.rpartition(".")
    where = f"the conf/{group.split('.')[0]}/ file you use" if group else "conf/config.yaml"
    return (
        f"The setting `{key}`, a parameter of the DVC stages, is not in conf/: add "
        f"`{name}: {json.dumps(shown, ensure_ascii=False)}` (its default) to {where} (a copy of an "
        "older file lacks settings newer versions read)."
    )
