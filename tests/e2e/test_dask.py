"""End to end on a real Dask LocalCluster: `engine=dask` gives the tier table of `engine=local`."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.e2e.project import NO_PREVIOUS, SEGML, sh, stages_run

pytestmark = pytest.mark.slow


def test_dask_engine_gives_the_local_tier_table(demo_project, project_copy):
    """The demo project ran with engine=local; its copy runs again on a two-worker LocalCluster
    with three customer partitions and a memory limit per worker."""
    result = sh(
        [
            *SEGML,
            "run",
            NO_PREVIOUS,
            "engine=dask",
            "dask.partitions=3",
            "dask.memory_limit=2GB",
        ],
        project_copy,
    )
    assert {"prepare", "features", "tier"} <= stages_run(result)
    assert "worker peak memory" in result.stdout + result.stderr  # the cluster really ran them
    names = [f"part-0000{k}.parquet" for k in range(3)]
    for table in ("prepared/transactions.parquet", "tiers/tiers.parquet"):  # partitioned datasets
        assert sorted(p.name for p in (project_copy / "data" / table).iterdir()) == names, table

    first = demo_project.parent / "first_run"
    for name in ("tiers.parquet", "tiers.csv"):  # ids, tiers, lifecycle, scores, reasons: all
        assert (project_copy / "exports" / name).read_bytes() == (first / name).read_bytes(), name
    assert len(pd.read_parquet(first / "tiers.parquet")) > 1000
