"""Which earlier period a run compares with and which it audits: by date, whatever order the runs
were made in."""

from __future__ import annotations

from segml.tiering.periods import (
    Period,
    audited_periods,
    elapsed_days,
    periods_pin,
    pinned,
    previous_period,
)

# made in this order: December first, then the autumn months, then October again (a rerun with
# other settings, which stands for October from then on)
RUNS = [
    Period("dec", "2025-12-31", started=1),
    Period("sep", "2025-09-30", started=2),
    Period("oct", "2025-10-31", started=3),
    Period("nov", "2025-11-30", started=4),
    Period("oct2", "2025-10-31", started=5),
]


def test_the_previous_period_is_the_date_just_before_whatever_the_order_of_runs():
    assert previous_period(RUNS, "2025-12-31").run_id == "nov"
    assert previous_period(RUNS, "2025-11-30").run_id == "oct2"  # the latest run of that date
    assert previous_period(RUNS, "2025-10-31").run_id == "sep"  # an earlier month rerun last
    assert previous_period(RUNS, "2025-09-30") is None  # nothing before the first
    assert previous_period(RUNS, "2026-01-31").run_id == "dec"
    # a date not known yet (as_of: null on new data): the latest period
    assert previous_period(RUNS, None).run_id == "dec"
    assert previous_period([], "2025-12-31") is None


def test_audited_periods_are_those_far_enough_into_their_horizon():
    """As of 2025-12-31, with at least 28 days elapsed: September (92 days), October (61) and
    November (31); as of 2025-11-30 November itself and October (30 days) but not later ones."""
    as_of_december = audited_periods(RUNS, "2025-12-31", 28, 6)
    assert [p.run_id for p in as_of_december] == ["sep", "oct2", "nov"]
    assert [p.run_id for p in audited_periods(RUNS, "2025-12-31", 40, 6)] == ["sep", "oct2"]
    assert [p.run_id for p in audited_periods(RUNS, "2025-12-31", 28, 2)] == ["oct2", "nov"]
    assert [p.run_id for p in audited_periods(RUNS, "2025-11-30", 28, 6)] == ["sep", "oct2"]
    assert audited_periods(RUNS, "2025-09-30", 28, 6) == []
    assert elapsed_days(RUNS[1], "2025-12-31", 90) == 90  # all of it (92 days later)
    assert elapsed_days(RUNS[3], "2025-12-31", 90) == 31  # partly


def test_a_pin_names_each_date_and_run():
    assert (
        periods_pin(audited_periods(RUNS, "2025-11-30", 28, 6)) == "2025-09-30:sep,2025-10-31:oct2"
    )
    assert periods_pin([]) is None
    assert RUNS[0].label == "2025-12-31"  # by its date: the run id is for analysts
    assert Period("", "2025-11-30", source="old.parquet").label == "2025-11-30 · old.parquet"


def test_a_pin_reads_back_as_the_periods_it_names_and_says_which_are_gone():
    """The audit measures what `segml compose` pinned, not what the store holds by the time the
    stage runs: a later run of a pinned date is not taken, a date not pinned is not added."""
    pin = periods_pin(audited_periods(RUNS, "2025-12-31", 28, 6))
    runs_since = [*RUNS, Period("oct3", "2025-10-31", started=9), Period("aug", "2025-08-31")]
    found, missing = pinned(runs_since, pin)
    assert [p.run_id for p in found] == ["sep", "oct2", "nov"]
    assert missing == []
    found, missing = pinned([p for p in RUNS if p.run_id != "sep"], pin)
    assert [p.run_id for p in found] == ["oct2", "nov"]
    assert missing == ["2025-09-30:sep"]
    assert pinned(RUNS, None) == ([], [])
