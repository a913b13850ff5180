"""The subscription demo (`segml generate --shape subscription`): a telecom-like operator's
subscribers simulated month by month (`segml.data.subscription_sim`), as the clean canonical
tables prepare should recover and the hidden truth the pipeline never reads. The messy export a
CRM would hand over is `segml.data.subscription_export`.

Deterministic by seed: one generator drawn in a fixed order. About 20,000 customers give ~45,000
spells, ~330,000 payment attempts and ~640,000 usage records over 2023-2025 in a few seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.data.subscription_sim import Simulation
from segml.data.subscription_state import (
    CHANNELS,
    CREDIT,
    HISTORY_MONTHS,
    INDUSTRIES,
    PAYMENT_METHODS,
    PLANS,
    REGIONS,
    draw_people,
)

PROSPECT_SHARE = 0.02  # customers in the customer table who never subscribed


@dataclass(frozen=True)
class SubscriptionDemo:
    """Clean canonical tables (what prepare should recover) and the hidden truth."""

    subscriptions: pd.DataFrame
    payments: pd.DataFrame
    usage: pd.DataFrame
    customers: pd.DataFrame  # one row per customer and validity period (`valid_from`)
    truth: pd.DataFrame  # per customer: theta, departures, kinds
    episodes: pd.DataFrame  # dissatisfaction episodes: customer, start day, end day


def _day(value) -> int:
    return int(
        (np.datetime64(pd.Timestamp(value).date(), "D") - np.datetime64("1970-01-01")).astype(int)
    )


def generate(
    n_customers: int = 20_000,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
    seed: int = 42,
    signal: float = 1.0,
) -> SubscriptionDemo:
    """Simulate about `n_customers` customers seen in the export `start`..`end`, and a few
    prospects (in the customer table, never subscribed).

    `signal` scales how often and how strongly dissatisfaction shows in usage (1 = default, 0 = a
    departure never shows in usage): the sensitivity check of the design note."""
    rng = np.random.default_rng(seed)
    first_month = np.datetime64(pd.Timestamp(start).strftime("%Y-%m"), "M")
    last_month = np.datetime64(pd.Timestamp(end).strftime("%Y-%m"), "M")
    n_months = int((last_month - first_month).astype(int)) + 1
    n = int(n_customers * 2.2)  # candidates: those who left before the export are never seen
    people = draw_people(rng, n, n_months)
    sim = Simulation(rng, people, first_month, _day(start), _day(end), signal)
    for m in range(-HISTORY_MONTHS, n_months):
        sim.month(m)
    sim.close_open_spells()
    demo = _tables(sim, n_customers)
    customers = pd.concat([demo.customers, _prospects(rng, demo.customers)], ignore_index=True)
    return SubscriptionDemo(
        demo.subscriptions, demo.payments, demo.usage, customers, demo.truth, demo.episodes
    )


def _prospects(rng: np.random.Generator, customers: pd.DataFrame) -> pd.DataFrame:
    """Known to the CRM, never subscribed: attributes like a customer's, ids P000001..."""
    first = customers.drop_duplicates(s.CUSTOMER_ID)
    n = max(1, int(len(first) * PROSPECT_SHARE))
    picked = first.iloc[np.sort(rng.choice(len(first), n, replace=False))].copy()
    picked[s.CUSTOMER_ID] = np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), 6))
    picked["valid_from"] = pd.NaT
    return picked.reset_index(drop=True)


def _tables(sim: Simulation, n_customers: int) -> SubscriptionDemo:
    """The logs as the clean canonical tables: the first `n_customers` customers seen in the
    export (ids with leading zeros), their spells running on or after its first day, their
    payments and usage within it."""
    spells = pd.concat(sim.log.spells, ignore_index=True)
    # the export holds what was running on or after its first day
    spells = spells[(spells["end"] < 0) | (spells["end"] > sim.start_day)]
    seen = np.unique(spells["who"].to_numpy())[:n_customers]
    code = np.full(sim.n, -1)
    code[seen] = np.arange(len(seen))
    ids = np.char.zfill((np.arange(len(seen)) + 1).astype(str), 7)

    def keep(frame):
        frame = frame[code[frame["who"].to_numpy()] >= 0]
        return frame.assign(customer_id=ids[code[frame["who"].to_numpy()]])

    spells = keep(spells)
    subs = pd.DataFrame(
        {
            s.CUSTOMER_ID: spells["customer_id"].to_numpy(),
            s.SUBSCRIPTION_ID: np.char.add(
                "S", np.char.zfill(spells["sub"].astype(str).to_numpy().astype(str), 8)
            ),
            s.PLAN: spells["plan"]
            .map(lambda p: PLANS[p] if isinstance(p, (int, np.integer)) else p)
            .to_numpy(),
            s.START: _dates(spells["start"]),
            s.END: _dates(spells["end"]),
            s.AMOUNT: spells["amount"].to_numpy(float),
            s.BILLING_MONTHS: spells["billing"].to_numpy(np.int64),
            s.STATUS: spells["status"].to_numpy(),
            s.CONTRACT_MONTHS: spells["contract"].to_numpy(np.int64),
            s.IS_TRIAL: spells["trial"].to_numpy(bool),
        }
    ).sort_values([s.CUSTOMER_ID, s.START, s.SUBSCRIPTION_ID], kind="stable", ignore_index=True)
    events = {}
    for name, frames in (("payments", sim.log.payments), ("usage", sim.log.usage)):
        frame = keep(pd.concat(frames, ignore_index=True))
        frame = frame[(frame["day"] >= sim.start_day) & (frame["day"] <= sim.end_day)]
        frame = frame.assign(
            subscription_id=np.char.add(
                "S", np.char.zfill(frame["sub"].astype(str).to_numpy().astype(str), 8)
            ),
            ts=_dates(frame["day"]),
        )
        cols = [s.CUSTOMER_ID, s.SUBSCRIPTION_ID, s.TS] + (
            ["amount", "outcome"] if name == "payments" else ["quantity", "kind"]
        )
        events[name] = frame[cols].sort_values(
            [s.CUSTOMER_ID, s.TS], kind="stable", ignore_index=True
        )
    customers = _customers(sim, seen, ids)
    truth, episodes = _truth(sim, seen, ids, keep)
    return SubscriptionDemo(subs, events["payments"], events["usage"], customers, truth, episodes)


def _customers(sim: Simulation, seen: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    """Typed attributes, one row per customer, plus a later row (valid from its month) where the
    credit grade changed: lowered a month or two after financial distress, a few for other
    reasons."""
    p, rng = sim.p, sim.rng
    first_start = sim.p.start_m[seen]
    signup = [
        (sim.first_month + int(m)).astype("datetime64[D]") + int(d) - 1
        for m, d in zip(first_start, p.bill_day[seen])
    ]
    base = pd.DataFrame(
        {
            s.CUSTOMER_ID: ids,
            "industry": np.where(
                p.business[seen], INDUSTRIES[np.maximum(p.industry[seen], 0)], "个人"
            ),
            "company_size": p.size[seen],
            "credit_grade": CREDIT[p.credit[seen]],
            "payment_method": PAYMENT_METHODS[p.payment[seen]],
            "is_business": p.business[seen],
            "signup_date": pd.to_datetime(np.array(signup, dtype="datetime64[D]")),
            "region": REGIONS[p.region[seen]],
            "acquisition_channel": CHANNELS[p.channel[seen]],
            "valid_from": pd.NaT,
        }
    )
    # the credit bureau lowers a grade a month or two after financial distress starts; a few
    # grades change for other reasons
    distress = sim.distress_seen[seen]
    lowered = (distress >= 0) & (rng.random(len(seen)) < 0.6) & (p.credit[seen] < 3)
    other = ~lowered & (rng.random(len(seen)) < 0.04)
    month = np.where(
        lowered, distress + rng.integers(1, 3, len(seen)), rng.integers(1, 34, len(seen))
    )
    grade = np.where(
        lowered,
        np.minimum(p.credit[seen] + 1, 3),
        np.clip(p.credit[seen] + rng.choice([-1, 1], len(seen)), 0, 3),
    )
    changed = (lowered | other) & (month >= 1) & (month <= 35)
    later = base[changed].copy()
    later["credit_grade"] = CREDIT[grade[changed]]
    later["valid_from"] = pd.to_datetime(
        np.array(
            [(sim.first_month + int(m)).astype("datetime64[D]") for m in month[changed]],
            dtype="datetime64[D]",
        )
    )
    return pd.concat([base, later], ignore_index=True).sort_values(
        [s.CUSTOMER_ID, "valid_from"], na_position="first", kind="stable", ignore_index=True
    )


def _truth(sim: Simulation, seen: np.ndarray, ids: np.ndarray, keep):
    """Per customer: theta, win-backs, departures and the last one's kind; and every
    dissatisfaction episode."""
    code = {w: i for i, w in enumerate(seen)}
    dep = keep(pd.concat(sim.log.departures, ignore_index=True))
    kinds = {1: "voluntary", 2: "non_renewal", 3: "involuntary", 4: "trial_not_converted"}
    dep = dep.assign(kind=dep["kind"].map(kinds), day=_dates(dep["day"]))[
        [s.CUSTOMER_ID, "day", "kind"]
    ]
    truth = pd.DataFrame(
        {s.CUSTOMER_ID: ids, "theta": sim.theta[seen], "winbacks": sim.winbacks[seen]}
    )
    departures = dep.groupby(s.CUSTOMER_ID).agg(
        departures=("day", "size"), last_departure=("day", "max"), last_kind=("kind", "last")
    )
    truth = truth.merge(departures, on=s.CUSTOMER_ID, how="left")
    ep = pd.concat(sim.log.episodes, ignore_index=True)
    ep = ep[np.isin(ep["who"], seen)]

    def month(m):
        return (sim.first_month + np.clip(m, -200, 200)).astype("datetime64[D]")

    episodes = pd.DataFrame(
        {
            s.CUSTOMER_ID: ids[[code[w] for w in ep["who"]]],
            "start": pd.to_datetime(month(ep["start_m"].to_numpy())),
            "end": pd.to_datetime(month(ep["end_m"].to_numpy())),
        }
    )
    return truth, episodes


def _dates(days: pd.Series) -> np.ndarray:
    """Day numbers (since 1970) as dates (datetime64[ns]); a negative day (running) is NaT."""
    d = days.to_numpy(np.int64)
    out = (np.datetime64("1970-01-01") + d.astype("timedelta64[D]")).astype("datetime64[ns]")
    return np.where(d < 0, np.datetime64("NaT"), out).astype("datetime64[ns]")
