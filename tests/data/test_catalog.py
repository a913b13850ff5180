"""The catalog holds entries in files or in memory, with the same reads: a stage cannot tell which."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from segml.data.catalog import MAX_HEADLINE, Catalog
from segml.errors import InputError

TABLE = pd.DataFrame(
    {
        "customer_id": [f"C{i:03d}" for i in range(12)],
        # milliseconds: what parquet keeps of a date (the memory entry keeps what was written)
        "cutoff": pd.to_datetime(["2025-01-31", "2025-02-28", "2025-03-31"] * 4).astype(
            "datetime64[ms]"
        ),
        "spend": [float(i) for i in range(12)],
    }
)
READS = [
    {},
    {"columns": ["customer_id"]},
    {"filters": [("cutoff", "==", pd.Timestamp("2025-02-28"))]},
    {"filters": [("cutoff", "in", [pd.Timestamp("2025-01-31"), pd.Timestamp("2025-03-31")])]},
    {
        "filters": [("customer_id", ">=", "C003"), ("customer_id", "<=", "C007")],
        "columns": ["spend"],
    },
]


@pytest.fixture()
def catalogs(tmp_path):
    files = Catalog(
        {"labelled": tmp_path / "labelled.parquet", "summary": tmp_path / "summary.json"}
    )
    return files, files.in_memory()


@pytest.mark.parametrize("options", READS)
def test_reads_from_memory_equal_reads_from_the_file(catalogs, options):
    files, memory = catalogs
    files.write("labelled", TABLE)
    memory.write("labelled", TABLE)
    pd.testing.assert_frame_equal(
        memory.read("labelled", **options), files.read("labelled", **options)
    )


def test_columns_and_first_rows_alike(catalogs):
    files, memory = catalogs
    for catalog in catalogs:
        catalog.write("labelled", TABLE)
    wanted = ["spend", "not_a_column", "customer_id"]
    pd.testing.assert_frame_equal(
        memory.read_columns("labelled", wanted), files.read_columns("labelled", wanted)
    )
    pd.testing.assert_frame_equal(memory.read_head("labelled", 3), files.read_head("labelled", 3))


def test_memory_entries_touch_no_disk_and_hand_out_no_held_frame(catalogs, tmp_path):
    _, memory = catalogs
    memory.write("labelled", TABLE)
    memory.write("summary", {"rows": 12})
    assert not list(tmp_path.iterdir())
    assert memory.exists("labelled") and memory.read("summary") == {"rows": 12}
    got = memory.read("labelled")
    got["spend"] = 0.0  # a reader changing what it got
    assert memory.read("labelled")["spend"].sum() == TABLE["spend"].sum()
    with pytest.raises(ValueError, match="held in memory"):
        memory.path("labelled")


def test_an_entry_not_made_yet_says_so(catalogs):
    _, memory = catalogs
    assert not memory.exists("labelled")
    with pytest.raises(InputError, match="labelled has not been made yet"):
        memory.read("labelled")


def test_some_entries_stay_files(tmp_path):
    catalog = Catalog({"a": tmp_path / "a.json", "b": tmp_path / "b.json"}).in_memory(files=["b"])
    catalog.write("a", [1])
    catalog.write("b", [2])
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]
    assert catalog.source("a") == str(tmp_path / "a.json")


RECORD = {
    "model": {"roc_auc": 0.9, "brier": 0.13},
    "summary": {"verdict_en": "B: beats BG/NBD", "margins": [0.01, 0.02], "beats_baseline": True},
    "folds": {"fold_1": {"cutoff": "2025-08-03", "roc_auc": 0.89}},
}
HEADLINE = {"churn": {"roc_auc": 0.9, "margin": 0.015, "beats_baseline": True}}


def test_dvc_metrics_hold_the_headline_and_reads_give_the_whole_record(tmp_path):
    paths = {"churn_metrics": tmp_path / "churn.json"}
    paths["churn_metrics_details"] = tmp_path / "churn_details.json"
    files = Catalog(paths)
    for catalog in (files, files.in_memory()):
        catalog.write_metrics("churn_metrics", RECORD, HEADLINE)
        assert catalog.read("churn_metrics") == RECORD
    assert json.loads(paths["churn_metrics"].read_text(encoding="utf-8")) == HEADLINE
    assert json.loads(paths["churn_metrics_details"].read_text(encoding="utf-8")) == RECORD
    with pytest.raises(ValueError, match="write_metrics"):
        files.write("churn_metrics", RECORD)  # the whole record never lands in the DVC metric
    # a file logged before metrics had details is its own record
    assert (
        Catalog({"churn_metrics": paths["churn_metrics_details"]}).read("churn_metrics") == RECORD
    )


@pytest.mark.parametrize(
    "headline",
    [
        {"churn": {"verdict": "B: beats BG/NBD"}},  # a sentence
        {"margins": [0.01, 0.02]},  # a list
        {"folds": {"fold_1": {"roc_auc": 0.89}}},  # a table, three levels deep
        {"customers": {str(i): i for i in range(MAX_HEADLINE + 1)}},  # too many to compare
    ],
)
def test_a_dvc_metrics_file_holds_a_few_numbers_only(tmp_path, headline):
    catalog = Catalog({"m": tmp_path / "m.json", "m_details": tmp_path / "m_details.json"})
    with pytest.raises(ValueError, match="DVC metrics file|headline numbers"):
        catalog.write_metrics("m", RECORD, headline)
    assert not (tmp_path / "m.json").exists()


def test_a_parts_entries_live_in_its_sub_folder_and_the_others_are_shared(tmp_path):
    paths = {
        "snapshot": tmp_path / "features" / "snapshot.parquet",
        "schedule": tmp_path / "metrics" / "features.json",
        "schedule_details": tmp_path / "metrics" / "features_details.json",
        "rejected": tmp_path / "prepared" / "rejected.parquet",
    }
    frame = pd.DataFrame({"a": [1, 2]})
    for catalog in (Catalog(paths), Catalog(paths).in_memory()):
        part = catalog.part("subscriptions", ["snapshot", "schedule"])
        part.write("snapshot", frame)
        part.write_metrics("schedule", {"x": 1, "y": "words"}, {"x": 1})
        part.write("rejected", frame.head(1))
        assert not catalog.exists("snapshot") and not catalog.exists("schedule")
        assert catalog.read("rejected").equals(frame.head(1))  # shared
        assert part.read("schedule") == {"x": 1, "y": "words"}
        assert part.read("snapshot").equals(frame)
        assert not catalog.part("transactions", ["snapshot"]).exists("snapshot")
        if not catalog.held:
            assert (
                part.path("snapshot")
                == tmp_path / "features" / "subscriptions" / "snapshot.parquet"
            )
            assert (tmp_path / "metrics" / "subscriptions" / "features_details.json").exists()
