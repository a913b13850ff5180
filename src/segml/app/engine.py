"""The engines: where a stage's work runs (`engine` in config; `engine_for` builds it).

`LocalEngine` runs a stage's step on the whole table in this process. `DaskEngine` opens a Dask
cluster (a LocalCluster for the stage, or `dask.address`) and runs the step's per-partition form
there, for the stages that have one (prepare, features, tier, export's table); other steps run in
this process. A per-partition step hands `map` a function and one task per partition; the function
reads its partition from disk and returns something small (counts, fitted inputs), so only
summaries travel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from segml.app.console import console
from segml.config import Config, DaskConfig
from segml.errors import EngineError
from segml.stages.step import Engine, Step, T


class LocalEngine:
    """Every step on the whole table, in this process."""

    def run(self, step: Step[T], *args: Any) -> T:
        return step.whole(*args)


class DaskEngine:
    """Steps with a per-partition form on a Dask cluster opened for the step; others in process."""

    def __init__(self, cfg: DaskConfig):
        self.cfg = cfg

    def run(self, step: Step[T], *args: Any) -> T:
        if step.per_partition is None:
            return step.whole(*args)
        with dask_engine(self.cfg) as partitions:
            return step.per_partition(partitions, *args)


ENGINES: dict[str, Callable[[Config], Engine]] = {
    "local": lambda cfg: LocalEngine(),
    "dask": lambda cfg: DaskEngine(cfg.dask),
}


def engine_for(cfg: Config) -> Engine:
    """The engine `cfg.engine` names (config composing has checked the name)."""
    return ENGINES[cfg.engine](cfg)


class InProcess:
    """Partitions one after another in this process (tests, and the reference for Dask)."""

    def map(self, fn: Callable, items: list) -> list:
        return [fn(item) for item in items]


class OnDask:
    """Partitions as tasks on a Dask cluster; results come back in the order of `items`."""

    def __init__(self, client: Any, cfg: DaskConfig):
        self.client, self.cfg = client, cfg

    def map(self, fn: Callable, items: list) -> list:
        from distributed import KilledWorker

        try:
            # pure=False: a partition's task reads files that may have changed since the last call
            return self.client.gather(self.client.map(fn, items, pure=False))
        except KilledWorker as exc:
            raise EngineError(
                f"Dask workers kept dying while running {fn.__name__} ({exc}). The usual cause is a "
                f"partition needing more memory than a worker has (dask.memory_limit="
                f"{self.cfg.memory_limit}): raise dask.partitions={self.cfg.partitions} so each "
                "partition is smaller, or give workers more memory."
            ) from exc

    def worker_peaks(self) -> list[float]:
        """Each worker process's peak memory so far, in GB."""
        return sorted(self.client.run(_peak_gb).values(), reverse=True)


def _peak_gb() -> float:
    """This process's peak resident memory: Linux's high-water mark of its own address space
    (`ru_maxrss` survives exec, so a worker started by a large process would report that
    process's size), else `ru_maxrss`."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024**2  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


@contextmanager
def dask_engine(cfg: DaskConfig) -> Iterator[OnDask]:
    """A client on `cfg.address`, or on a LocalCluster started here and closed on exit."""
    from distributed import Client, LocalCluster

    if cfg.address:
        with Client(cfg.address) as client:
            yield OnDask(client, cfg)
        return
    Path(cfg.local_directory).mkdir(parents=True, exist_ok=True)
    with (
        LocalCluster(
            n_workers=cfg.n_workers,
            threads_per_worker=cfg.threads_per_worker,
            memory_limit=cfg.memory_limit,
            local_directory=cfg.local_directory,
            dashboard_address=None,  # no web server on the user's machine unasked
            processes=True,
        ) as cluster,
        Client(cluster) as client,
    ):
        engine = OnDask(client, cfg)
        yield engine
        peaks = ", ".join(f"{gb:.1f} GB" for gb in engine.worker_peaks())
        console.print(f"  dask: worker peak memory {peaks} (limit {cfg.memory_limit} each)")
