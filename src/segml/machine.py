"""What this process may use of the machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def cores() -> int:
    """Threads for this process's own parallel work (column work in prepare, LightGBM):
    OMP_NUM_THREADS when set (Dask workers get 1, as partitions already run side by side; so do
    the tests' workers), else the logical CPUs this process may run on. LightGBM's own default
    counts physical cores only: one on a two-vCPU machine."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return int(os.environ.get("OMP_NUM_THREADS") or usable or 1)


def at_once(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each call's result, by name; the calls run side by side on `cores()` threads (for work
    that releases Python's lock: Arrow, numpy, LightGBM)."""
    with ThreadPoolExecutor(max_workers=cores()) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        return {name: future.result() for name, future in futures.items()}
