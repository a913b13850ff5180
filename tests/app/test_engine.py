"""The Dask engine's own behaviour: a worker that dies gives a message saying what to change."""

from __future__ import annotations

import os

import dask
import pytest

from segml.app.engine import dask_engine
from segml.config import DaskConfig
from segml.errors import EngineError

pytestmark = pytest.mark.slow


def _die(_partition: int) -> None:
    os._exit(1)  # what the nanny does to a worker over its memory limit


def test_a_dying_worker_names_the_memory_limit_and_the_partitions(tmp_path):
    cfg = DaskConfig(n_workers=1, memory_limit="1GB", partitions=5, local_directory=str(tmp_path))
    # one death is enough to give up (the default retries the task on three more workers)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), dask_engine(cfg) as engine:
        assert engine.map(abs, [-1, -2]) == [1, 2]  # the cluster works
        with pytest.raises(EngineError) as raised:
            engine.map(_die, [0])
    message = str(raised.value)
    assert "_die" in message and "dask.memory_limit=1GB" in message
    assert "raise dask.partitions=5" in message
