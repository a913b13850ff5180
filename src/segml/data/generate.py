"""Seeded, vectorised demo data that behaves like a retailer's messy export.

Hidden personas differ in purchase rate, spend, lifetime, category and channel mix. Each customer
is acquired at some date, buys as a Poisson process shaped by weekly and yearly seasonality with
shopping-festival peaks (6.18, 11.11), and may stop buying for good at a hidden date. The ground
truth (persona, stop date) is returned separately; the pipeline never reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s

CATEGORIES = np.array(["服装", "美妆", "食品", "家居", "数码", "母婴", "运动", "图书"])
CHANNELS = np.array(["APP", "小程序", "门店", "官网"])
REGIONS = np.array(["华东", "华北", "华南", "华中", "西南", "西北", "东北"])
CITY_TIERS = np.array(["一线", "新一线", "二线", "三线及以下"])
ACQUISITION = np.array(["线上广告", "门店", "老客推荐", "社交媒体"])
AGE_BANDS = np.array(["18-24", "25-34", "35-44", "45-54", "55+"])
GENDERS = np.array(["男", "女"])
FADE_DAYS = 150
SHAPES = ("default", "cohort")
COHORT_ACQUISITION_DAYS = 91
COHORT_DECAY_DAYS = 240  # repeat purchase rate falls to 1/e after this tenure


@dataclass(frozen=True)
class Persona:
    weight: float
    purchases_per_year: float
    order_value: float  # median order value, CNY
    lifetime_days: float  # mean time until the customer stops for good
    categories: tuple[float, ...]  # mix over CATEGORIES
    channels: tuple[float, ...]  # mix over CHANNELS
    b2b_share: float


PERSONAS: dict[str, Persona] = {
    "vip": Persona(0.06, 32.0, 900.0, 2500.0, (2, 3, 1, 2, 3, 1, 1, 1), (3, 1, 3, 1), 0.35),
    "regular": Persona(0.22, 16.0, 320.0, 1500.0, (2, 2, 2, 2, 1, 1, 1, 1), (3, 2, 2, 1), 0.10),
    "bargain": Persona(0.20, 22.0, 90.0, 900.0, (1, 1, 4, 2, 1, 2, 1, 1), (2, 4, 1, 1), 0.02),
    "occasional": Persona(0.30, 6.0, 260.0, 700.0, (2, 1, 1, 2, 2, 1, 2, 2), (2, 2, 1, 2), 0.05),
    "one_off": Persona(0.22, 2.0, 180.0, 150.0, (3, 2, 1, 1, 1, 1, 1, 1), (1, 1, 1, 3), 0.02),
}


@dataclass(frozen=True)
class DemoData:
    transactions: pd.DataFrame  # canonical column names
    customers: pd.DataFrame
    ground_truth: pd.DataFrame


def _seasonality(days: pd.DatetimeIndex) -> np.ndarray:
    """Daily purchase intensity with mean 1: weekends, a yearly wave and festival peaks."""
    weekly = np.where(days.dayofweek >= 5, 1.25, 0.93)
    yearly = 1.0 + 0.15 * np.sin(2 * np.pi * (days.dayofyear - 80) / 365.25)
    festival = np.ones(len(days))
    md = days.month * 100 + days.day
    festival[(md >= 1109) & (md <= 1111)] = 2.5
    festival[md == 1111] = 5.0
    festival[(md >= 616) & (md <= 618)] = 2.0
    festival[md == 618] = 3.5
    w = np.asarray(weekly * yearly * festival, dtype=float)
    return w / w.mean()


def _choose(rng: np.random.Generator, probs: np.ndarray, rows_group: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: row i picks from probs[rows_group[i]]."""
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(rows_group))
    return (u[:, None] > cum[rows_group]).sum(axis=1).clip(max=probs.shape[1] - 1)


def generate(
    n_customers: int = 20_000,
    start: str = "2023-01-01",
    end: str = "2025-12-31",
    seed: int = 42,
    messy: bool = True,
    rate_scale: float = 1.0,
    shape: str = "default",
) -> DemoData:
    """Generate demo transactions, customer attributes and hidden ground truth.

    `shape`: "default" is a growing business with years of history; "cohort" is one acquisition
    wave (everyone acquired in the first quarter of the period) whose repeat purchases decay with
    tenure, as in many real exports of a single campaign or a young shop.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown demo data shape {shape!r}: use one of {list(SHAPES)}")
    # one generator drawn in a fixed order: the same seed gives the same data
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    table = list(PERSONAS.values())
    people = _customers(rng, n_customers, len(days), table, rate_scale, shape)
    cust, day = _purchase_days(rng, people, days, shape)
    customer_ids = np.char.zfill(np.arange(1, n_customers + 1).astype(str), 7)
    tx = _transactions(rng, days, cust, day, people, table, customer_ids)
    tx = pd.concat([tx, _refunds(rng, tx, days[-1])], ignore_index=True)
    tx = tx.sort_values([s.TS, s.ORDER_ID], kind="stable", ignore_index=True)

    customers = _attributes(rng, customer_ids, people.persona, table)
    truth = pd.DataFrame(
        {
            s.CUSTOMER_ID: customer_ids,
            "persona": np.array(list(PERSONAS))[people.persona],
            "acquired_on": days.values[people.acquired],
            "stop_date": days[0] + pd.to_timedelta(np.round(people.stop), unit="D"),
        }
    )
    if messy:
        tx = make_messy(rng, tx, days[-1])
    return DemoData(tx, customers, truth)


@dataclass(frozen=True)
class _Customers:
    """Each customer's hidden truth (arrays over customers; days count from the period's start)."""

    persona: np.ndarray  # index into PERSONAS
    rate: np.ndarray  # repeat purchases per day at average seasonality
    spend_level: np.ndarray  # median order value, CNY
    acquired: np.ndarray  # day of the first purchase
    stop: np.ndarray  # day the customer stops for good (may lie past the period)


def _customers(
    rng: np.random.Generator,
    n_customers: int,
    n_days: int,
    table: list[Persona],
    rate_scale: float,
    shape: str,
) -> _Customers:
    """Draw each customer's persona, purchase rate, order value, acquisition day and stop day."""
    weights = np.array([p.weight for p in table])
    persona = rng.choice(len(table), size=n_customers, p=weights / weights.sum())
    rate = np.array([p.purchases_per_year for p in table])[persona] / 365.25
    rate *= rng.gamma(2.0, 0.5, n_customers) * rate_scale  # heterogeneity within a persona
    spend_level = np.array([p.order_value for p in table])[persona] * rng.lognormal(
        0, 0.35, n_customers
    )
    lifetime = rng.exponential(np.array([p.lifetime_days for p in table])[persona])

    if shape == "cohort":  # one acquisition wave in the first quarter
        acquired = rng.integers(0, min(COHORT_ACQUISITION_DAYS, n_days), n_customers)
    else:  # more customers are acquired later in the period (a growing business)
        acquired = np.minimum(
            (rng.beta(1.4, 1.0, n_customers) * n_days).astype(np.int64), n_days - 1
        )
    return _Customers(persona, rate, spend_level, acquired, acquired + lifetime)


def _purchase_days(
    rng: np.random.Generator, people: _Customers, days: pd.DatetimeIndex, shape: str
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of every purchase: the acquisition day, then repeat purchases."""
    n_days = len(days)
    cum_intensity = np.concatenate([[0.0], np.cumsum(_seasonality(days))])
    acquired, stop = people.acquired, people.stop
    active_end = np.minimum(stop, n_days)

    # Repeat purchases: inhomogeneous Poisson process, sampled by inverting the cumulative intensity.
    span = np.interp(active_end, np.arange(n_days + 1), cum_intensity) - cum_intensity[acquired]
    n_repeat = rng.poisson(people.rate * np.maximum(span, 0))
    owner = np.repeat(np.arange(len(acquired)), n_repeat)
    u = cum_intensity[acquired[owner]] + rng.random(len(owner)) * span[owner]
    repeat_day = np.searchsorted(cum_intensity, u, side="right") - 1
    # Customers fade before they stop: purchase intensity falls over their last FADE_DAYS.
    to_stop = stop[owner] - repeat_day
    keep = rng.random(len(owner)) < np.clip(0.25 + 0.75 * to_stop / FADE_DAYS, 0, 1)
    if shape == "cohort":  # the novelty wears off: repeat rates decay with tenure
        keep &= rng.random(len(owner)) < np.exp(-(repeat_day - acquired[owner]) / COHORT_DECAY_DAYS)
    owner, repeat_day = owner[keep], repeat_day[keep]
    cust = np.concatenate([np.arange(len(acquired)), owner])  # everyone buys on acquisition day
    day = np.concatenate([acquired, repeat_day]).clip(0, n_days - 1)
    return cust, day


def _transactions(
    rng: np.random.Generator,
    days: pd.DatetimeIndex,
    cust: np.ndarray,
    day: np.ndarray,
    people: _Customers,
    table: list[Persona],
    customer_ids: np.ndarray,
) -> pd.DataFrame:
    """One row per purchase: time of day, amount, quantity, category (often the customer's
    favourite) and channel, in canonical columns."""
    n = len(cust)
    seconds = rng.integers(8 * 3600, 23 * 3600, n)
    ts = days.values[day] + seconds.astype("timedelta64[s]")
    amount = np.round(people.spend_level[cust] * rng.lognormal(0, 0.5, n), 2).clip(min=1.0)
    cat_probs = np.array([p.categories for p in table], dtype=float)
    favourite = rng.integers(0, len(CATEGORIES), len(customer_ids))
    category = _choose(rng, cat_probs, people.persona[cust])
    keep_favourite = rng.random(n) < 0.4
    category[keep_favourite] = favourite[cust[keep_favourite]]
    channel = _choose(rng, np.array([p.channels for p in table], dtype=float), people.persona[cust])
    return pd.DataFrame(
        {
            s.CUSTOMER_ID: customer_ids[cust],
            s.TS: ts,
            s.AMOUNT: amount,
            s.ORDER_ID: np.char.add("O", np.char.zfill(np.arange(1, n + 1).astype(str), 9)),
            s.QUANTITY: 1 + rng.poisson(0.6, n),
            s.CATEGORY: CATEGORIES[category],
            s.CHANNEL: CHANNELS[channel],
        }
    )


def _refunds(rng: np.random.Generator, tx: pd.DataFrame, last_day: pd.Timestamp) -> pd.DataFrame:
    """About 3 % of orders are refunded (fully or half) 1-30 days later, as negative rows."""
    pick = rng.random(len(tx)) < 0.03
    refunds = tx.loc[pick].copy()
    refunds[s.AMOUNT] = -np.round(refunds[s.AMOUNT] * rng.choice([1.0, 0.5], len(refunds)), 2)
    refunds[s.QUANTITY] = -refunds[s.QUANTITY]
    refunds[s.TS] = refunds[s.TS] + pd.to_timedelta(rng.integers(1, 31, len(refunds)), unit="D")
    return refunds[refunds[s.TS] <= last_day + pd.Timedelta(days=1)]


def _attributes(rng, customer_ids, persona, table) -> pd.DataFrame:
    n = len(customer_ids)
    b2b = rng.random(n) < np.array([p.b2b_share for p in table])[persona]
    city_probs = np.array(
        [[3, 3, 2, 2], [2, 3, 3, 2], [1, 2, 3, 4], [1, 2, 3, 3], [1, 2, 3, 4]], dtype=float
    )
    frame = pd.DataFrame(
        {
            s.CUSTOMER_ID: customer_ids,
            "region": REGIONS[rng.integers(0, len(REGIONS), n)],
            "city_tier": CITY_TIERS[_choose(rng, city_probs, persona)],
            "business_type": np.where(b2b, "B2B", "B2C"),
            "acquisition_channel": ACQUISITION[rng.integers(0, len(ACQUISITION), n)],
            "age_band": AGE_BANDS[rng.integers(0, len(AGE_BANDS), n)],
            "gender": GENDERS[rng.integers(0, 2, n)],
        }
    )
    for column in frame.columns[1:]:  # real CRMs have gaps
        frame.loc[rng.random(n) < 0.05, column] = None
    # A few prospects: known to the CRM, never bought.
    n_prospects = max(1, n // 50)
    prospects = frame.sample(n_prospects, random_state=int(rng.integers(1 << 31))).copy()
    prospects[s.CUSTOMER_ID] = np.char.add(
        "P", np.char.zfill(np.arange(1, n_prospects + 1).astype(str), 6)
    )
    return pd.concat([frame, prospects], ignore_index=True)


def make_messy(rng: np.random.Generator, tx: pd.DataFrame, last_day: pd.Timestamp) -> pd.DataFrame:
    """Turn clean rows into an export: text fields, currency formatting and a few bad rows."""
    n = len(tx)
    out = pd.DataFrame(
        {
            s.CUSTOMER_ID: tx[s.CUSTOMER_ID].to_numpy(),
            s.TS: tx[s.TS].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            s.AMOUNT: tx[s.AMOUNT].map("{:.2f}".format).to_numpy(),
            s.ORDER_ID: tx[s.ORDER_ID].to_numpy(),
            s.QUANTITY: tx[s.QUANTITY].astype(str).to_numpy(),
            s.CATEGORY: tx[s.CATEGORY].to_numpy(),
            s.CHANNEL: tx[s.CHANNEL].to_numpy(),
        }
    )

    def rows(share: float, at_least: int = 2) -> np.ndarray:
        return rng.choice(n, size=max(at_least, int(n * share)), replace=False)

    yen = rows(0.10)
    out.loc[yen, s.AMOUNT] = tx[s.AMOUNT].iloc[yen].map("¥{:,.2f}".format).to_numpy()
    out.loc[rows(0.001), s.CUSTOMER_ID] = ""
    bad_ts = rows(0.0005)
    out.loc[bad_ts, s.TS] = rng.choice(
        ["2024-02-30 10:00:00", "not recorded", "31/13/2024"], len(bad_ts)
    )
    out.loc[rows(0.0005), s.AMOUNT] = "0.00"
    out.loc[rows(0.0001), s.AMOUNT] = "98765432.10"
    future = (last_day + pd.Timedelta(days=400)).strftime("%Y-%m-%d 12:00:00")
    out.loc[rows(0.0002), s.TS] = future
    duplicates = out.iloc[rows(0.002)]
    return pd.concat([out, duplicates], ignore_index=True)
