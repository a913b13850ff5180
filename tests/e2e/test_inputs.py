"""End to end: an input folder of monthly files, as most teams receive their data, tracked by DVC
so that a new month's file reruns prepare."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

from tests.e2e.project import SEGML, sh

pytestmark = pytest.mark.slow
DVC = [sys.executable, "-m", "dvc"]


def test_a_new_months_file_in_the_input_folder_reruns_prepare(project_copy):
    root = project_copy
    export = root / "data" / "raw" / "transactions.csv"
    rows = pd.read_csv(export, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    december = rows["交易时间"].str.startswith("2025-12")
    folder = root / "data" / "raw" / "orders"
    folder.mkdir()
    rows[~december].to_csv(folder / "orders_2023-01_2025-11.csv", index=False, encoding="utf-8-sig")
    (folder / "desktop.ini").write_text("[.ShellClassInfo]\n", encoding="utf-8")
    sh([*SEGML, "compose", "paths.raw_transactions=data/raw/orders"], root)
    sh([*DVC, "repro", "prepare"], root)
    before = json.loads(
        (root / "metrics" / "data_quality_details.json").read_text(encoding="utf-8")
    )
    assert before["input_files"] == 1 and before["ignored_files"] == ["desktop.ini"]

    rows[december].to_csv(folder / "orders_2025-12.csv", index=False, encoding="utf-8-sig")
    status = sh([*DVC, "status", "prepare"], root).stdout
    assert "changed deps" in status and "data/raw" in status
    sh([*DVC, "repro", "prepare"], root)
    after = json.loads((root / "metrics" / "data_quality_details.json").read_text(encoding="utf-8"))
    assert after["input_files"] == 2 and after["rows_read"] == len(rows)
    assert after["last_date"] == "2025-12-31" > before["last_date"]
