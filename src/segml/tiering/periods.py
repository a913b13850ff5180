"""Periods: which earlier grading a run compares with (movement) and which it audits.

A period is a date (`as_of`) of one export. The records of earlier periods (one per accepted run:
its run id, date, horizon and population settings) come from the tracking store
(`segml.reporting.run_history.accepted_periods`); the choices here are pure, so the pipeline,
`segml score` and `segml compose` (which pins them in params.yaml) choose alike, whatever order
the runs were made in, and whatever recorded the customers' behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Period:
    """One accepted grading of the export, as its run recorded it."""

    run_id: str
    as_of: str  # YYYY-MM-DD
    started: int = 0  # the run's start time (ms): the latest run of a date stands for it
    horizon_days: int | None = None  # the churn window its scores predict
    active_within_days: int | None = None  # who its models were measured on
    policy: str | None = None  # its headline tier policy (tiering.primary)
    source: str | None = None  # a tier table's file instead of a run (`tiering.previous: <path>`)

    @property
    def label(self) -> str:
        """How the report and workbook name it: its date (a file's with the file). Business users
        know a period by its date; the run id is for analysts, in the tier metrics
        (`previous_run`) and the MLflow tag `segml.previous_run`."""
        if self.source:
            return f"{self.as_of} · {self.source}" if self.as_of else self.source
        return self.as_of


def latest_per_date(periods: list[Period]) -> list[Period]:
    """One period per date (its latest run: a rerun with other settings replaces the first),
    oldest date first."""
    by_date: dict[str, Period] = {}
    for period in sorted(periods, key=lambda p: (p.as_of, p.started, p.run_id)):
        by_date[period.as_of] = period
    return [by_date[d] for d in sorted(by_date)]


def before(periods: list[Period], as_of: str | None) -> list[Period]:
    """The periods strictly before `as_of` (every period when the date is not known yet)."""
    return [p for p in latest_per_date(periods) if as_of is None or p.as_of < as_of]


def previous_period(periods: list[Period], as_of: str | None) -> Period | None:
    """The period just before `as_of`: the latest date strictly before it."""
    earlier = before(periods, as_of)
    return earlier[-1] if earlier else None


def days_between(start: str, end: str) -> int:
    return int((pd.Timestamp(end) - pd.Timestamp(start)).days)


def elapsed_days(period: Period, as_of: str, horizon_days: int) -> int:
    """How much of the period's horizon lies on or before `as_of` (at most all of it)."""
    return max(0, min(horizon_days, days_between(period.as_of, as_of)))


def audited_periods(
    periods: list[Period], as_of: str | None, min_elapsed_days: int, max_periods: int
) -> list[Period]:
    """The earlier periods an audit as of `as_of` measures, oldest first: at least
    `min_elapsed_days` of their horizon have passed; the `max_periods` most recent of them."""
    earlier = [
        p
        for p in before(periods, as_of)
        if as_of is None or days_between(p.as_of, as_of) >= min_elapsed_days
    ]
    return earlier[-max_periods:] if max_periods > 0 else []


PIN_RUN_ID = 12  # the run id's first characters a pin records (unique in practice, short in params)


def periods_pin(periods: list[Period]) -> str | None:
    """What params.yaml records of a list of periods: each date and run (DVC reruns a stage
    whose pin changes), or None for none."""
    return ",".join(f"{p.as_of}:{p.run_id[:PIN_RUN_ID]}" for p in periods) or None


def pinned(periods: list[Period], pin: str | None) -> tuple[list[Period], list[str]]:
    """The periods a pin (`periods_pin`) names, oldest first, and the pin's entries that none of
    `periods` matches (a run deleted from the store since `segml compose`)."""
    wanted = [entry.strip() for entry in (pin or "").split(",") if entry.strip()]
    found, missing = [], []
    for entry in wanted:
        as_of, _, run = entry.partition(":")
        match = [p for p in periods if p.as_of == as_of and p.run_id.startswith(run)]
        (found.append(match[-1]) if match else missing.append(entry))
    return sorted(found, key=lambda p: p.as_of), missing
