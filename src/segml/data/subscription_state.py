"""The subscription demo's people and the state of their accounts (`segml generate --shape
subscription`): each candidate's hidden propensity and visible attributes, and what they hold
month by month (main plan, contract, add-ons, trial, dissatisfaction, distress, dunning), with
every change logged as spells, payments, usage records, departures and dissatisfaction episodes.

What happens each month is `segml.data.subscription_sim`; the tables and the export are
`segml.data.generate_subscriptions` and `segml.data.subscription_export`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PLANS = np.array(["基础套餐", "标准套餐", "畅享套餐", "无限套餐"])
PLAN_PRICE = np.array([39.0, 69.0, 99.0, 159.0])
ADDONS = {"宽带": 59.0, "IPTV": 29.0}
CONTRACT_DISCOUNT = 0.9
PAYMENT_METHODS = np.array(["自动扣款", "信用卡", "银行转账", "营业厅现金"])
PAYMENT_METHOD_P = np.array([0.40, 0.25, 0.20, 0.15])
PM_CHURN = np.array([0.75, 0.95, 1.25, 1.45])  # like the "electronic check" effect in telco data
PM_FAIL = np.array([0.02, 0.035, 0.03, 0.05])
PM_LATE = np.array([0.01, 0.02, 0.08, 0.10])
CREDIT = np.array(["A", "B", "C", "D"])
CREDIT_P = np.array([0.35, 0.35, 0.20, 0.10])
CREDIT_CHURN = np.array([0.9, 1.0, 1.15, 1.3])
CREDIT_FAIL = np.array([0.7, 1.0, 1.6, 2.5])
INDUSTRIES = np.array(["制造业", "零售", "餐饮", "物流", "教育", "医疗", "软件信息", "建筑"])
REGIONS = np.array(["华东", "华北", "华南", "华中", "西南", "西北", "东北"])
CHANNELS = np.array(["营业厅", "线上", "电话销售", "代理商"])
CHANNEL_CHURN = np.array([0.9, 1.15, 1.05, 1.1])
PRICE_RISE_MONTH = 18  # 2024-07 when the export starts in 2023-01
PRICE_RISE = 5.0
HISTORY_MONTHS = 72  # the earliest customers in the export started this long before it


@dataclass
class Log:
    spells: list = field(default_factory=list)
    payments: list = field(default_factory=list)
    usage: list = field(default_factory=list)
    departures: list = field(default_factory=list)
    episodes: list = field(default_factory=list)


@dataclass
class People:
    theta: np.ndarray
    start_m: np.ndarray
    bill_day: np.ndarray
    usage_level: np.ndarray
    voice_level: np.ndarray
    payment: np.ndarray
    credit: np.ndarray
    channel: np.ndarray
    business: np.ndarray
    industry: np.ndarray
    size: np.ndarray
    region: np.ndarray


def draw_people(rng: np.random.Generator, n: int, n_months: int) -> People:
    """Each candidate's hidden propensity and observable attributes."""
    payment = rng.choice(len(PAYMENT_METHODS), n, p=PAYMENT_METHOD_P)
    credit = rng.choice(len(CREDIT), n, p=CREDIT_P)
    channel = rng.integers(0, len(CHANNELS), n)
    business = rng.random(n) < 0.3
    theta = (
        rng.beta(1.3, 45.0, n) * PM_CHURN[payment] * CREDIT_CHURN[credit] * CHANNEL_CHURN[channel]
    )
    theta *= np.where(business, 0.8, 1.0)
    theta = np.clip(theta, 0.001, 0.4)
    # half were customers before the export began (any of the 72 months before), half join during
    # it, more of them later (a growing business)
    before = rng.random(n) < 0.5
    start_m = np.where(
        before,
        -rng.integers(1, HISTORY_MONTHS + 1, n),
        np.minimum((rng.beta(1.3, 1.0, n) * n_months).astype(int), n_months - 1),
    )
    return People(
        theta=theta,
        start_m=start_m,
        bill_day=rng.integers(1, 29, n),
        usage_level=rng.lognormal(np.log(6.0), 0.7, n),
        voice_level=rng.lognormal(np.log(300.0), 0.6, n),
        payment=payment,
        credit=credit,
        channel=channel,
        business=business,
        industry=np.where(business, rng.integers(0, len(INDUSTRIES), n), -1),
        size=np.where(business, np.round(rng.lognormal(np.log(25), 1.1, n)), np.nan),
        region=rng.integers(0, len(REGIONS), n),
    )


class SimulationState:
    """Month-by-month state of every candidate; every change is logged as spells and events."""

    def __init__(
        self, rng, people: People, first_month, start_day: int, end_day: int, signal: float
    ):
        self.rng, self.p, self.signal = rng, people, signal
        self.first_month, self.start_day, self.end_day = first_month, start_day, end_day
        n = len(people.theta)
        self.n = n
        self.log = Log()
        self.alive = np.zeros(n, bool)
        self.sub = np.full(n, -1, np.int64)  # main subscription id
        self.next_sub = 1
        self.plan = np.zeros(n, np.int64)
        self.amount = np.zeros(n)
        self.billing = np.ones(n, np.int64)  # months per bill
        self.contract = np.zeros(n, np.int64)
        self.term_end = np.full(n, -10_000)
        self.spell_start = np.zeros(n, np.int64)  # day
        self.spell_start_m = np.zeros(n, np.int64)
        self.run_start_m = np.zeros(n, np.int64)
        self.trial = np.zeros(n, bool)
        self.dissatisfied = np.zeros(n, bool)
        self.d_months = np.zeros(n, np.int64)
        self.visible = np.zeros(n, bool)
        self.d_start = np.zeros(n, np.int64)
        self.distress = np.zeros(n, np.int64)
        self.past_due = np.zeros(n, bool)
        self.left_m = np.full(n, -10_000)
        self.left_kind = np.zeros(n, np.int64)
        self.winbacks = np.zeros(n, np.int64)
        self.addon = {k: np.full(n, -1, np.int64) for k in ADDONS}  # subscription id or -1
        self.addon_start = {k: np.zeros(n, np.int64) for k in ADDONS}
        self.addon_amount = {k: np.zeros(n) for k in ADDONS}
        self.theta = people.theta.copy()
        self.distress_seen = np.full(n, -1, np.int64)  # first distress month (credit bureau)

    # --- dates -------------------------------------------------------------------------------
    def bill(self, m: int, who: np.ndarray) -> np.ndarray:
        """Day number of each customer's billing day in month m."""
        month_start = (self.first_month + m).astype("datetime64[D]")
        base = int((month_start - np.datetime64("1970-01-01")).astype(int))
        return base + self.p.bill_day[who] - 1

    # --- logging -----------------------------------------------------------------------------
    def _spell(self, who, sub, plan, start, end, amount, billing, contract, status, trial):
        if len(who):
            self.log.spells.append(
                pd.DataFrame(
                    {
                        "who": who,
                        "sub": sub,
                        "plan": plan,
                        "start": start,
                        "end": end,
                        "amount": amount,
                        "billing": billing,
                        "contract": contract,
                        "status": status,
                        "trial": trial,
                    }
                )
            )

    def close_main(self, who: np.ndarray, day: np.ndarray, status: str) -> None:
        self._spell(
            who,
            self.sub[who],
            self.plan[who],
            self.spell_start[who],
            day,
            self.amount[who],
            self.billing[who],
            self.contract[who],
            np.full(len(who), status),
            self.trial[who],
        )

    def open_main(self, who, day, m, plan, contract, trial=False, billing=None) -> None:
        self.plan[who] = plan
        self.contract[who] = contract
        self.trial[who] = trial
        self.billing[who] = 1 if billing is None else billing
        price = PLAN_PRICE[plan] * np.where(contract > 0, CONTRACT_DISCOUNT, 1.0)
        price = price + np.where(
            (m >= PRICE_RISE_MONTH) & (plan <= 1) & (contract == 0), PRICE_RISE, 0.0
        )
        self.amount[who] = np.where(trial, 0.0, np.round(price * self.billing[who], 2))
        self.spell_start[who] = day
        self.spell_start_m[who] = m
        self.term_end[who] = np.where(contract > 0, m + contract, -10_000)

    def change_main(self, who, day, m, plan, contract, status="changed", billing=None) -> None:
        self.close_main(who, day, status)
        self.open_main(who, day, m, plan, contract, billing=billing)

    def depart(self, who: np.ndarray, m: int, day: np.ndarray, kind: int, status: str) -> None:
        """The customer's main subscription and every add-on end on `day`."""
        if not len(who):
            return
        self.close_main(who, day, status)
        for name in ADDONS:
            has = who[self.addon[name][who] >= 0]
            self._addon_spell(name, has, self.bill_index(has, day, who), status)
            self.addon[name][has] = -1
        self.alive[who] = False
        self.left_m[who] = m
        self.left_kind[who] = kind
        self.past_due[who] = False
        self.log.departures.append(pd.DataFrame({"who": who, "day": day, "kind": kind}))
        self._end_episodes(who[self.dissatisfied[who]], m)

    @staticmethod
    def bill_index(sub_who, day, who):
        pos = {w: i for i, w in enumerate(who)}
        return np.array([day[pos[w]] for w in sub_who], dtype=np.int64)

    def _addon_spell(self, name, who, day, status):
        n = len(who)
        self._spell(
            who,
            self.addon[name][who],
            np.full(n, name),
            self.addon_start[name][who],
            day,
            self.addon_amount[name][who],
            np.ones(n, np.int64),
            np.zeros(n, np.int64),
            np.full(n, status),
            np.zeros(n, bool),
        )

    def _end_episodes(self, who, m):
        if len(who):
            self.log.episodes.append(
                pd.DataFrame({"who": who, "start_m": self.d_start[who], "end_m": m})
            )
            self.dissatisfied[who] = False
            self.d_months[who] = 0

    def new_subscription_ids(self, k: int) -> np.ndarray:
        ids = np.arange(self.next_sub, self.next_sub + k)
        self.next_sub += k
        return ids

    # --- one month ---------------------------------------------------------------------------

    def close_open_spells(self) -> None:
        """Running spells at the end of the export: no end date."""
        who = np.flatnonzero(self.alive)
        status = np.where(
            self.trial[who], "trial", np.where(self.past_due[who], "past_due", "active")
        )
        self._spell(
            who,
            self.sub[who],
            self.plan[who],
            self.spell_start[who],
            np.full(len(who), -1),
            self.amount[who],
            self.billing[who],
            self.contract[who],
            status,
            self.trial[who],
        )
        for name in ADDONS:
            has = who[self.addon[name][who] >= 0]
            self._spell(
                has,
                self.addon[name][has],
                np.full(len(has), name),
                self.addon_start[name][has],
                np.full(len(has), -1),
                self.addon_amount[name][has],
                np.ones(len(has), np.int64),
                np.zeros(len(has), np.int64),
                np.full(len(has), "active"),
                np.zeros(len(has), bool),
            )
        self._end_episodes(who[self.dissatisfied[who]], 10_000)
