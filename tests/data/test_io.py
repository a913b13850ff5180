"""The project's own files: written atomically, read back as written."""

from __future__ import annotations

import pandas as pd

from segml.data import io


def test_catalog_reads_only_the_columns_a_table_has(tmp_path):
    """Stages ask for the snapshot columns they use; one a config switched off is left out."""
    from segml.data.catalog import Catalog

    catalog = Catalog({"snapshot": tmp_path / "snapshot.parquet"})
    catalog.write(
        "snapshot", pd.DataFrame({"customer_id": ["a", "b"], "frequency": [1, 2], "x": [0, 0]})
    )
    got = catalog.read_columns("snapshot", ["frequency", "bgnbd_p_alive", "customer_id"])
    assert list(got.columns) == ["frequency", "customer_id"]
    assert got["frequency"].tolist() == [1, 2]


def test_parquet_row_groups_follow_the_cutoffs(tmp_path):
    """Each cutoff's rows are row groups of their own, so a filter on one cutoff decodes only it;
    the table reads back as written."""
    import pyarrow.parquet as pq

    cutoffs = pd.to_datetime(["2025-01-01"] * 3 + ["2025-02-01"] * 2 + ["2025-03-01"] * 4)
    frame = pd.DataFrame({"cutoff": cutoffs, "x": range(9), "id": list("abcdefghi")})
    io.write_parquet(frame, tmp_path / "t.parquet", row_groups_by="cutoff")
    meta = pq.ParquetFile(tmp_path / "t.parquet").metadata
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    assert [g.num_rows for g in groups] == [3, 2, 4]
    assert all(g.column(0).statistics.min == g.column(0).statistics.max for g in groups)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "t.parquet"), frame)
    io.write_parquet(frame.iloc[:0], tmp_path / "empty.parquet", row_groups_by="cutoff")
    assert pd.read_parquet(tmp_path / "empty.parquet").empty


def test_an_equal_table_is_written_to_the_same_bytes(tmp_path):
    """The parquet file holds nothing but the table (no write time, no path), so an equal table
    written again, elsewhere and later, gives the same bytes: the end-to-end determinism check
    compares the recomputed tables as frames (tests/e2e/test_monthly.py, December on Dask)."""
    frame = pd.DataFrame(
        {
            "customer_id": ["c2", "c1", "c3"],
            "tier": pd.Categorical(["A", "C", None], categories=["A", "B", "C"]),
            "churn_probability": [0.125, 0.5, None],
            "cutoff": pd.to_datetime(["2025-12-31"] * 3),
        }
    )
    first = io.write_parquet(frame, tmp_path / "a" / "tiers.parquet")
    again = io.write_parquet(frame.copy(), tmp_path / "b" / "tiers.parquet")
    assert first.read_bytes() == again.read_bytes()
    other = frame.assign(churn_probability=[0.125, 0.5, 0.25])
    changed = io.write_parquet(other, tmp_path / "c" / "tiers.parquet")
    assert changed.read_bytes() != first.read_bytes()  # the comparison can fail
