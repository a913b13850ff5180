"""A period is a date: as_of against the export's end (the gap with no data is named, or graded
as of the end when asked), and the earlier periods of one export."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from segml.data.validate import prepare
from segml.errors import ContractError, PeriodError
from segml.features.datasets import build_datasets, resolve_as_of
from segml.features.transactions import index_transactions, to_day

HEADERS = {"customer_id": "id", "ts": "ts", "amount": "amount"}


@pytest.fixture()
def dcfg(cfg):
    return dataclasses.replace(cfg.data, columns=dict(HEADERS), customer_columns={})


def export(last: str = "2025-10-31") -> pd.DataFrame:
    """Two years of purchases by 300 customers, the last on `last`."""
    days = pd.date_range(end=last, periods=700, freq="D")
    rows = [
        (f"C{k % 300:03d}", str(days[(k * 37) % 700].date()), str(10 + k % 9)) for k in range(2000)
    ]
    rows.append(("C000", last, "12"))
    return pd.DataFrame(rows, columns=list(HEADERS.values()))


def test_an_as_of_past_the_exports_end_names_the_dates_the_gap_and_the_settings(dcfg):
    with pytest.raises(PeriodError) as error:
        prepare(export(), None, dcfg, as_of="2025-12-31")
    message = str(error.value)
    assert "as_of 2025-12-31 is 61 days after the export's last purchase (2025-10-31)" in message
    assert "data.max_tail_gap_days (31)" in message and "data.as_of_past_end: export_end" in message
    assert "churn class" not in message
    # within the allowed gap (a month-end after the last sale) nothing is said
    assert prepare(export(), None, dcfg, as_of="2025-11-30").quality["notes"] == []


def test_as_of_export_end_grades_as_of_the_last_purchase_and_says_so(cfg, dcfg):
    data = dataclasses.replace(dcfg, as_of_past_end="export_end")
    prepared = prepare(export(), None, data, as_of="2025-12-31")
    assert any("graded as of 2025-10-31" in note for note in prepared.quality["notes"])
    idx = index_transactions(prepared.transactions)
    no_bgnbd = dataclasses.replace(cfg.features, use_bgnbd=False)
    datasets = build_datasets(idx, no_bgnbd, cfg.labels, "2025-12-31", data)
    assert datasets.summary["as_of"] == "2025-10-31"
    last = int(idx.day.max())
    assert resolve_as_of(last, "2025-11-15", data) == to_day("2025-11-15")  # within the gap
    assert resolve_as_of(last, "2025-12-31", dcfg) == to_day("2025-12-31")  # stop: never here


def test_an_as_of_before_the_first_purchase_says_the_period_has_no_data(dcfg):
    with pytest.raises(
        ContractError,
        match="no data: 2,001 of its 2,001 rows are dated after as_of 2020-01-31.*Set as_of",
    ):
        prepare(export(), None, dcfg, as_of="2020-01-31")
