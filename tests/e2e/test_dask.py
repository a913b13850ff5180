"""End to end on a real Dask LocalCluster: `engine=dask` gives the tier table of `engine=local`,
pseudonymised as the demo is (the workers write the exported table): no clear id, no salt."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from segml.reporting.privacy import pseudonymize
from tests.e2e.leaks import SALT, id_hits, known_ids, leaks
from tests.e2e.project import NO_PREVIOUS, SEGML, copy_project, sh, stages_run

pytestmark = pytest.mark.slow
PARTITIONED = ("prepared/transactions.parquet", "tiers/tiers.parquet")
STAGES = ("prepare", "features", "segment", "train", "tier", "audit", "export")


@pytest.fixture(scope="module")
def dask_project(demo_project, tmp_path_factory):
    """A copy of the demo project (which ran with engine=local) run again on a two-worker
    LocalCluster with three customer partitions and a memory limit per worker; never changed by
    a test (copy it)."""
    root = copy_project(demo_project, tmp_path_factory.mktemp("dask") / "project")
    result = sh(
        [
            *SEGML,
            "run",
            NO_PREVIOUS,
            "engine=dask",
            "dask.partitions=3",
            "dask.memory_limit=2GB",
        ],
        root,
    )
    return root, result


def test_dask_engine_gives_the_local_tier_table(demo_project, dask_project):
    """Every stage computed again (another engine, same data and settings) gives the first run's
    CSV and workbook byte for byte and its tier table: this is also the suite's proof that the
    same data and config give byte-identical outputs (a second local run would add no stage)."""
    root, result = dask_project
    assert stages_run(result) == set(STAGES)  # nothing restored from DVC's cache: all recomputed
    assert "worker peak memory" in result.stdout + result.stderr  # the cluster really ran them
    names = [f"part-0000{k}.parquet" for k in range(3)]
    for table in PARTITIONED:  # partitioned datasets
        assert sorted(p.name for p in (root / "data" / table).iterdir()) == names, table

    first, exports = demo_project.parent / "first_run", root / "exports"
    for name in ("tiers.csv", "tiers.xlsx"):  # ids, tiers, lifecycle, scores, reasons: all
        assert (exports / name).read_bytes() == (first / name).read_bytes(), name
    # the exported parquet is a partitioned dataset too: the same table, read as one
    assert sorted(p.name for p in (exports / "tiers.parquet").iterdir()) == names
    expected = pd.read_parquet(first / "tiers.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(exports / "tiers.parquet"), expected)
    assert len(expected) > 1000


def test_dask_run_with_pseudonyms_leaks_no_id_and_no_salt(dask_project):
    """The workers wrote the exported table per partition, pseudonymised: no clear id and never
    the salt in the exports, in this run's MLflow files, or in what the run printed."""
    root, result = dask_project
    clear = pd.read_parquet(root / "data" / "tiers" / "tiers.parquet")["customer_id"]
    exported = pd.read_parquet(root / "exports" / "tiers.parquet")
    assert exported["customer_id"].tolist() == pseudonymize(clear, SALT).tolist()
    csv = pd.read_csv(root / "exports" / "tiers.csv", encoding="utf-8-sig", dtype=str)
    assert csv["customer_id"].tolist() == exported["customer_id"].tolist()

    run_id = json.loads((root / "exports" / "mlflow_run.json").read_text("utf-8"))["run_id"]
    (run_folder,) = [p for p in (root / "mlruns").rglob(run_id) if p.is_dir()]
    logged = run_folder.relative_to(root).as_posix()
    assert any(run_folder.rglob("*.parquet"))  # the full table was logged, and is scanned
    ids = known_ids(root)
    found = leaks(root, ids, [SALT], folders=("exports", logged))
    assert not found, f"clear ids or the salt found in: {found}"
    printed = result.stdout + result.stderr
    assert not id_hits(printed, set(ids)), sorted(id_hits(printed, set(ids)))[:5]
    assert SALT not in printed
    assert leaks(root, ids, [], folders=("data/tiers",))  # the scan does find clear ids
