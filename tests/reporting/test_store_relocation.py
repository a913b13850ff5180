"""A moved project: MLflow's sqlite store records its files' absolute paths, so after the folder
moves every read of an earlier period's files fails deep inside MLflow. `moved_from` sees it (the
recorded folder is gone, the files are beside the store) and `relocate` rewrites the paths, keeping
the store as it was."""

from __future__ import annotations

import sqlite3

from segml.reporting.mlflow_store import moved_from, relocate


def make_store(folder, root: str):
    (folder / "mlruns" / "1").mkdir(parents=True)
    with sqlite3.connect(folder / "mlflow.db") as con:
        con.execute("create table experiments (experiment_id integer, artifact_location text)")
        con.execute("create table runs (run_uuid text, artifact_uri text, lifecycle text)")
        con.execute("insert into experiments values (1, ?)", (f"{root}/mlruns/1",))
        con.execute(
            "insert into runs values ('r1', ?, 'active')", (f"{root}/mlruns/1/r1/artifacts",)
        )
    return f"sqlite:///{folder / 'mlflow.db'}"


def test_a_moved_store_is_seen_and_pointed_at_its_folder(tmp_path):
    here = tmp_path / "here"
    uri = make_store(here, str(tmp_path / "was"))  # recorded where the project was
    assert moved_from(uri) == str(tmp_path / "was")
    kept = relocate(uri, str(tmp_path / "was"))
    with sqlite3.connect(here / "mlflow.db") as con:
        assert con.execute("select artifact_location from experiments").fetchone()[0] == str(
            here.resolve() / "mlruns" / "1"
        )
        assert con.execute("select artifact_uri, lifecycle from runs").fetchone() == (
            f"{here.resolve()}/mlruns/1/r1/artifacts",
            "active",
        )
    assert moved_from(uri) is None  # fixed
    with sqlite3.connect(kept) as con:  # the store as it was, kept
        assert "was" in con.execute("select artifact_location from experiments").fetchone()[0]


def test_a_copied_store_is_seen_while_the_original_is_still_there(tmp_path):
    # its runs would write their files into the original project's folder
    make_store(tmp_path / "was", str((tmp_path / "was").resolve()))
    uri = make_store(tmp_path / "copy", str((tmp_path / "was").resolve()))
    assert moved_from(uri) == str((tmp_path / "was").resolve())
    relocate(uri, str((tmp_path / "was").resolve()))
    assert moved_from(uri) is None


def test_a_store_in_place_or_missing_is_left_alone(tmp_path):
    uri = make_store(tmp_path, str(tmp_path.resolve()))
    assert moved_from(uri) is None
    assert moved_from(f"sqlite:///{tmp_path / 'none.db'}") is None
    assert moved_from("http://127.0.0.1:5000") is None
