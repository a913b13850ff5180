"""What this process may use of the machine."""

from __future__ import annotations

import os


def cores() -> int:
    """Threads for this process's own parallel work (column work in prepare, LightGBM):
    OMP_NUM_THREADS when set (Dask workers get 1, as partitions already run side by side; so do
    the tests' workers), else the logical CPUs this process may run on. LightGBM's own default
    counts physical cores only: one on a two-vCPU machine."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return int(os.environ.get("OMP_NUM_THREADS") or usable or 1)
