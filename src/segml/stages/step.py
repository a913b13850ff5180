"""What a stage hands its engine: its work on the whole table, and the same work per partition.

The engine (`segml.app.engine`, built from config) picks one: the local engine runs `whole` in
this process; the Dask engine opens a cluster and runs `per_partition` (stages without one run
`whole` there too). So a stage never asks which engine it has.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")


class Partitions(Protocol):
    """Runs a function once per partition's task, wherever the engine runs it."""

    def map(self, fn: Callable, items: list) -> list: ...


@dataclass(frozen=True)
class Step(Generic[T]):
    """`whole(*args)` in this process, or `per_partition(partitions, *args)`: the same result
    (tables written to the same catalog entries; partitioned ones as folders of partition files)."""

    whole: Callable[..., T]
    per_partition: Callable[..., T] | None = None


class Engine(Protocol):
    """Runs a stage's step: `segml.app.engine.LocalEngine` or `DaskEngine`."""

    def run(self, step: Step[T], *args: Any) -> T: ...
