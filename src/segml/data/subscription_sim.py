"""What happens to the subscription demo's customers each month (`segml generate --shape
subscription`), on top of their state (`segml.data.subscription_state`).

Each customer is simulated month by month on their own billing day. What drives leaving is what
published churn studies of telecom and subscription businesses report, and each driver is partly
hidden, as in real data:

- a latent, heterogeneous propensity to leave (theta, Beta-distributed across customers: the
  assumption of Fader & Hardie's shifted-beta-geometric model, which is also what makes the
  population's churn rate fall with tenure), shifted by payment method, credit grade, channel and
  the number of products held (bundles leave less);
- the contract: month-to-month customers may leave any month; one- and two-year contracts almost
  only at the end of the term, where they renew, roll onto month-to-month at a higher price (the
  promotional discount ends) or leave; a short onboarding period with more early churn;
- a hidden dissatisfaction state that comes and goes (onset 2 x theta a month, 10 % recover a
  month); while it lasts, leaving is ten times as likely as outside it (6 x theta against
  0.6 x theta), so most departures come after months of it, as disengagement precedes most real
  cancellations. It shows as falling usage in only 65 % of episodes (-25 % a month, to a floor of
  30 %; `signal` scales the share and the depth), and raises late payments, downgrades and
  dropped add-ons; usage also varies +-25 % a month and dips 60 % in 4 % of months for everyone;
- failed payments: card expiry and bank transfers fail at base rates, financial distress makes
  them fail for months; three failed attempts make a bill past due, and a past-due account is
  cancelled a month later unless paid (involuntary churn, always preceded by failures, as with
  real dunning);
- upgrades (heavier users), a price rise for two plans in July 2024 (more month-to-month churn
  after it), cross-sell and dropped add-ons, free trials that convert or not, and win-backs
  (new subscription ids, higher propensity afterwards).

The export covers `start`..`end`; customers acquired years earlier appear with their original
start date (left truncation: those who left before `start` are not in it). Ground truth (theta,
dissatisfaction episodes, every departure and its kind) is returned separately; the pipeline
never reads it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.data.subscription_state import (
    ADDONS,
    CONTRACT_DISCOUNT,
    CREDIT_FAIL,
    PM_FAIL,
    PM_LATE,
    PRICE_RISE,
    PRICE_RISE_MONTH,
    SimulationState,
)


class Simulation(SimulationState):
    """The month's events in order: usage of the month just ended, new customers, trials ending,
    hidden states, the bill, leaving or renewing, plan changes, add-ons, the price rise, win-backs."""

    def month(self, m: int) -> None:
        self._usage_records(m)  # usage of the month that just ended, for everyone active in it
        self._acquire(m)
        old = np.flatnonzero(self.alive & (self.run_start_m < m))
        day = self.bill(m, old)
        self._trial_ends(m, old, day)
        old = old[self.alive[old] & ~self.trial[old]]
        self._hidden_states(m, old)
        day = self.bill(m, old)
        cancelled = self._payments(m, old, day)
        old = old[self.alive[old] & ~np.isin(old, cancelled)]
        self._leave_or_renew(m, old, self.bill(m, old))
        old = old[self.alive[old]]
        self._plan_changes(m, old, self.bill(m, old))
        self._addons(m, old, self.bill(m, old))
        self._price_rise(m, old)
        self._win_back(m)

    def _acquire(self, m: int) -> None:
        who = np.flatnonzero(self.p.start_m == m)
        if not len(who):
            return
        rng, th = self.rng, self.theta[who]
        day = self.bill(m, who)
        self.sub[who] = self.new_subscription_ids(len(who))
        self.alive[who] = True
        self.run_start_m[who] = m
        usage_q = np.searchsorted(
            np.quantile(self.p.usage_level, [0.35, 0.7, 0.92]), self.p.usage_level[who]
        )
        plan = np.clip(usage_q + rng.integers(-1, 2, len(who)), 0, 3)
        f = np.clip(1.5 - 15 * th, 0.3, 1.5)  # committed customers are the less restless ones
        u = rng.random(len(who))
        contract = np.where(u < 0.22 * f, 12, np.where(u < 0.40 * f, 24, 0))
        trial = (m >= 0) & (contract == 0) & (rng.random(len(who)) < 0.25)
        annual = (contract == 12) & (rng.random(len(who)) < 0.15)
        self.open_main(who, day, m, plan, contract, trial=trial, billing=np.where(annual, 12, 1))
        self.trial[who] = trial
        for name, share in (("宽带", 0.3), ("IPTV", 0.15)):
            has = who[rng.random(len(who)) < share]
            self._add_addon(name, has, self.bill(m, has), contract_of=self.contract[has])

    def _add_addon(self, name, who, day, contract_of):
        if not len(who):
            return
        self.addon[name][who] = self.new_subscription_ids(len(who))
        self.addon_start[name][who] = day
        self.addon_amount[name][who] = np.round(
            ADDONS[name] * np.where(contract_of > 0, CONTRACT_DISCOUNT, 1.0), 2
        )

    def _trial_ends(self, m, who, day) -> None:
        ending = who[self.trial[who]]
        if not len(ending):
            return
        d = day[self.trial[who]]
        heavy = self.p.usage_level[ending] > np.median(self.p.usage_level)
        convert = self.rng.random(len(ending)) < np.where(heavy, 0.72, 0.5)
        self.close_main(ending[convert], d[convert], "changed")
        self.open_main(
            ending[convert],
            d[convert],
            m,
            self.plan[ending[convert]],
            np.zeros(convert.sum(), np.int64),
        )
        self.depart(ending[~convert], m, d[~convert], kind=4, status="expired")

    def _hidden_states(self, m, who) -> None:
        rng = self.rng
        d = self.dissatisfied[who]
        onset = who[~d & (rng.random(len(who)) < np.minimum(0.5, 2.0 * self.theta[who]))]
        self.dissatisfied[onset] = True
        self.d_start[onset] = m
        self.d_months[onset] = 0
        self.visible[onset] = rng.random(len(onset)) < min(1.0, 0.65 * self.signal)
        recover = who[d & (rng.random(len(who)) < 0.10)]
        self._end_episodes(recover, m)
        self.d_months[who[self.dissatisfied[who]]] += 1
        self.distress[who] = np.maximum(self.distress[who] - 1, 0)
        hit = who[
            (self.distress[who] == 0)
            & (rng.random(len(who)) < 0.006 * np.array([0.5, 1, 1.5, 3])[self.p.credit[who]])
        ]
        self.distress[hit] = rng.integers(2, 6, len(hit))
        first = hit[self.distress_seen[hit] < 0]
        self.distress_seen[first] = m

    def _payments(self, m, who, day) -> np.ndarray:
        """This month's bill: paid, paid late, or failed (retried twice); a bill past due since
        last month is paid late or the account is cancelled (involuntary churn)."""
        rng = self.rng
        # past due since last month: cancelled or recovered
        due = who[self.past_due[who]]
        dday = day[self.past_due[who]]
        cancel = rng.random(len(due)) < np.where(self.distress[due] > 0, 0.85, 0.55)
        self.depart(due[cancel], m, dday[cancel], kind=3, status="cancelled")
        back = due[~cancel]
        self._pay_rows(
            back, dday[~cancel] - rng.integers(1, 5, len(back)), self.bill_amount(back), "late"
        )
        self.past_due[back] = False
        # this month's bill
        keep = ~np.isin(who, due[cancel])
        who, day = who[keep], day[keep]
        billed = ((m - self.spell_start_m[who]) % self.billing[who] == 0) & (self.amount[who] > 0)
        who, day = who[billed], day[billed]
        amount = self.bill_amount(who)
        if m < 0:  # before the export: only the state matters
            fail = rng.random(len(who)) < self._fail_p(who)
            self.past_due[who[fail & (rng.random(len(who)) < 0.3)]] = True
            return due[cancel]
        p_fail = self._fail_p(who)
        first = rng.random(len(who)) < p_fail
        late = ~first & (
            rng.random(len(who))
            < PM_LATE[self.p.payment[who]] * np.where(self.dissatisfied[who], 1.5, 1.0)
        )
        self._pay_rows(who[~first & ~late], day[~first & ~late], amount[~first & ~late], "paid")
        self._pay_rows(who[late], day[late] + rng.integers(6, 21, late.sum()), amount[late], "late")
        failing, fday, famount = who[first], day[first], amount[first]
        self._pay_rows(failing, fday, famount, "failed")
        p_retry = np.where(self.distress[failing] > 0, 0.2, 0.55)
        for offset in (4, 8):
            ok = rng.random(len(failing)) < p_retry
            self._pay_rows(failing[ok], fday[ok] + offset, famount[ok], "paid")
            self._pay_rows(failing[~ok], fday[~ok] + offset, famount[~ok], "failed")
            failing, fday, famount, p_retry = failing[~ok], fday[~ok], famount[~ok], p_retry[~ok]
        self.past_due[failing] = True
        return due[cancel]

    def _fail_p(self, who):
        return np.minimum(
            0.9,
            PM_FAIL[self.p.payment[who]]
            * CREDIT_FAIL[self.p.credit[who]]
            * np.where(self.distress[who] > 0, 8.0, 1.0),
        )

    def bill_amount(self, who):
        total = self.amount[who].copy()
        for name in ADDONS:
            total += np.where(self.addon[name][who] >= 0, self.addon_amount[name][who], 0.0)
        return np.round(total, 2)

    def _pay_rows(self, who, day, amount, outcome):
        if len(who):
            self.log.payments.append(
                pd.DataFrame(
                    {
                        "who": who,
                        "sub": self.sub[who],
                        "day": day,
                        "amount": amount,
                        "outcome": outcome,
                    }
                )
            )

    def _leave_or_renew(self, m, who, day) -> None:
        rng = self.rng
        th = self.theta[who]
        d_mult = np.where(self.dissatisfied[who], 6.0, 0.6)
        bundle = 0.75 ** sum((self.addon[k][who] >= 0).astype(int) for k in ADDONS)
        tenure = m - self.run_start_m[who]
        onboarding = np.where(tenure <= 3, 1.6, 1.0)
        rise = np.where(
            (m >= PRICE_RISE_MONTH) & (m < PRICE_RISE_MONTH + 3) & (self.plan[who] <= 1), 1.5, 1.0
        )
        m2m = self.contract[who] == 0
        at_end = (self.contract[who] > 0) & (self.term_end[who] == m)
        p = np.where(
            m2m,
            th * onboarding * d_mult * rise * bundle,
            np.where(
                at_end,
                3.0 * th * np.where(self.dissatisfied[who], 3.0, 1.0) * bundle,
                0.12 * th * d_mult,
            ),
        )
        leave = rng.random(len(who)) < np.minimum(p, 0.85)
        kind = np.where(m2m, 1, np.where(at_end, 2, 1))
        for k in (1, 2):
            sel = leave & (kind == k)
            self.depart(who[sel], m, day[sel], kind=k, status="cancelled" if k == 1 else "expired")
        renewing = at_end & ~leave
        r = who[renewing]
        rday = day[renewing]
        again = rng.random(len(r)) < np.where(self.dissatisfied[r], 0.3, 0.55)
        self.change_main(
            r[again],
            rday[again],
            m,
            self.plan[r[again]],
            self.contract[r[again]],
            status="expired",
            billing=self.billing[r[again]],
        )
        lapse = r[~again]  # out of contract: month-to-month, without the contract discount
        self.change_main(
            lapse,
            rday[~again],
            m,
            self.plan[lapse],
            np.zeros(len(lapse), np.int64),
            status="expired",
        )

    def _plan_changes(self, m, who, day) -> None:
        rng = self.rng
        settled = (
            self.spell_start_m[who] < m
        )  # no second change on the day of a renewal or conversion
        who, day = who[settled], day[settled]
        heavy = self.p.usage_level[who] > np.array([4, 7, 11, 1e9])[self.plan[who]]
        up = (
            (self.plan[who] < 3)
            & ~self.dissatisfied[who]
            & (rng.random(len(who)) < 0.012 * np.where(heavy, 2.0, 1.0))
        )
        # an upgrade under contract restarts the term (re-contracting with a new handset)
        self.change_main(
            who[up],
            day[up],
            m,
            self.plan[who[up]] + 1,
            self.contract[who[up]],
            billing=self.billing[who[up]],
        )
        rest = ~up & (self.contract[who] == 0) & (self.plan[who] > 0)
        down = rest & (rng.random(len(who)) < 0.005 * np.where(self.dissatisfied[who], 4.0, 1.0))
        self.change_main(
            who[down], day[down], m, self.plan[who[down]] - 1, np.zeros(down.sum(), np.int64)
        )

    def _addons(self, m, who, day) -> None:
        rng = self.rng
        for name in ADDONS:
            has = self.addon[name][who] >= 0
            drop = has & (rng.random(len(who)) < 0.006 * np.where(self.dissatisfied[who], 3.0, 1.0))
            self._addon_spell(name, who[drop], day[drop], "cancelled")
            self.addon[name][who[drop]] = -1
            add = ~has & ~self.dissatisfied[who] & (rng.random(len(who)) < 0.004)
            self._add_addon(name, who[add], day[add], self.contract[who[add]])

    def _price_rise(self, m, who) -> None:
        if m != PRICE_RISE_MONTH:
            return
        # spells opened this month carry the new price already
        hit = who[
            (self.plan[who] <= 1)
            & (self.contract[who] == 0)
            & ~self.trial[who]
            & (self.spell_start_m[who] < m)
        ]
        day = self.bill(m, hit)
        self.close_main(hit, day, "changed")
        amount = self.amount[hit] + PRICE_RISE
        self.spell_start[hit] = day
        self.spell_start_m[hit] = m
        self.amount[hit] = amount

    def _win_back(self, m) -> None:
        rng = self.rng
        gone = np.flatnonzero(~self.alive & (self.left_m > -10_000) & (self.winbacks < 2))
        since = m - self.left_m[gone]
        p = np.where(
            self.left_kind[gone] == 3, 0.012, np.where(self.left_kind[gone] == 4, 0.01, 0.02)
        )
        back = gone[(since >= 1) & (since <= 18) & (rng.random(len(gone)) < p)]
        if not len(back):
            return
        day = self.bill(m, back)
        self.sub[back] = self.new_subscription_ids(len(back))
        self.alive[back] = True
        self.winbacks[back] += 1
        self.run_start_m[back] = m
        self.theta[back] = np.minimum(self.theta[back] * 1.25, 0.4)
        self.distress[back] = 0
        self.open_main(
            back,
            day,
            m,
            np.maximum(self.plan[back] - rng.integers(0, 2, len(back)), 0),
            np.zeros(len(back), np.int64),
        )

    def _usage_records(self, m) -> None:
        """Usage of the billing month that ends on this month's billing day."""
        who = np.flatnonzero(self.alive & (self.run_start_m < m))
        if m < 0 or not len(who):
            return
        rng = self.rng
        day = self.bill(m, who)
        season = 1.0 + 0.06 * np.sin(2 * np.pi * ((m % 12) - 3) / 12)
        decline = np.where(
            self.dissatisfied[who] & self.visible[who],
            np.maximum(0.3, (1 - 0.25 * min(self.signal, 2.0)) ** self.d_months[who]),
            1.0,
        )
        dip = np.where(rng.random(len(who)) < 0.04, 0.4, 1.0)  # travel, a second phone, ...
        trial = np.where(self.trial[who], 0.7, 1.0)
        data = (
            self.p.usage_level[who]
            * season
            * decline
            * dip
            * trial
            * rng.lognormal(0, 0.25, len(who))
        )
        voice = self.p.voice_level[who] * decline * dip * rng.lognormal(0, 0.25, len(who))
        for kind, q in (("流量GB", np.round(data, 2)), ("通话分钟", np.round(voice))):
            self.log.usage.append(
                pd.DataFrame(
                    {"who": who, "sub": self.sub[who], "day": day, "quantity": q, "kind": kind}
                )
            )
