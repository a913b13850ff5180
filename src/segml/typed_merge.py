"""A composed config (plain dict) as an instance of its dataclass schema, through OmegaConf.

Why not `OmegaConf.merge(OmegaConf.structured(schema), raw)` alone: the schema's free-form
settings (`dict[str, Any]`: reason phrase tables, export headers, tier policies' words) hold most
of the config's nodes, and OmegaConf wraps and validates every one of them, only to hand them back
unchanged (their values are `Any`). That cost about 0.2 s per load, paid by every stage process,
command and test. So those dicts are set aside, the rest is merged and validated as before, and
they are put back as plain copies: the same object, in a quarter of the time.
"""

from __future__ import annotations

import copy
import dataclasses
import typing
from functools import cache
from typing import Any

from omegaconf import OmegaConf

FREE_FORM = dict[str, Any]


@cache
def free_form_paths(schema: type) -> tuple[tuple[str, ...], ...]:
    """The dotted paths (as tuples) of the schema's `dict[str, Any]` fields that are empty by
    default (merging onto them gives the value itself), nested ones too."""
    hints = typing.get_type_hints(schema)
    found: list[tuple[str, ...]] = []
    for field in dataclasses.fields(schema):
        kind = hints[field.name]
        if kind == FREE_FORM and field.default_factory is dict:  # empty by default
            found.append((field.name,))
        elif dataclasses.is_dataclass(kind):
            found += [(field.name, *rest) for rest in free_form_paths(kind)]
    return tuple(found)


def merged(schema: type, raw: dict) -> Any:
    """`raw` validated against `schema` (unknown keys and wrong types raise OmegaConf's errors), as
    an instance of it. A free-form field (empty by default) is set aside only when it is a dict
    with string keys; anything else goes through OmegaConf, which reports it as before."""
    rest, aside = dict(raw), {}
    for path in free_form_paths(schema):
        node = rest
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                break
            node[key] = node = dict(node[key])  # copied on the way down: `raw` stays as it was
        else:
            value = node.get(path[-1])
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                aside[path] = node.pop(path[-1])
    typed = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), rest))
    for path, value in aside.items():
        owner = typed
        for key in path[:-1]:
            owner = getattr(owner, key)
        setattr(owner, path[-1], copy.deepcopy(value))  # merged onto {}: itself
    return typed
