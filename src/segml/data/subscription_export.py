"""The subscription demo as a CRM exports it (`segml generate --shape subscription`): words for
billing periods, contract terms, statuses and payment outcomes, amounts written `¥1,234.50` now and
then, a few day/month/year dates, the same kinds of bad rows as the transaction demo (missing ids,
unparseable dates, absurd amounts, future-dated rows, exact duplicates) and the subscription
export's own (a row ending before it starts, an unknown billing period, a cancelled status with no
end date, a negative quantity, an outcome no config maps, "约50" employees). Headers are the
user's names from conf/data (`headers`), as `segml generate` writes every demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.generate_subscriptions import SubscriptionDemo

STATUS_WORDS = {
    "active": "正常",
    "trial": "试用",
    "past_due": "欠费",
    "cancelled": "已取消",
    "changed": "已变更",
    "expired": "已到期",
}
OUTCOME_WORDS = {"paid": "成功", "failed": "失败", "late": "逾期"}
BILLING_WORDS = {1: ["月付", "按月", "monthly"], 12: ["年付", "按年"]}
CONTRACT_WORDS = {0: ["无合约", "月租"], 12: ["1年", "12个月"], 24: ["2年", "24个月"]}


def _pick(rng, words: dict, keys: np.ndarray) -> np.ndarray:
    out = np.empty(len(keys), dtype=object)
    for key, options in words.items():
        on = keys == key
        out[on] = np.asarray(options, dtype=object)[rng.integers(0, len(options), on.sum())]
    return out


def _date_text(rng, values: np.ndarray, slash_share: float = 0.03) -> np.ndarray:
    d = pd.to_datetime(pd.Series(values))
    text = d.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
    slash = (rng.random(len(d)) < slash_share) & d.notna().to_numpy()
    text[slash] = [f"{x.year}/{x.month}/{x.day}" for x in d[slash]]
    return text


def _money_text(rng, values: np.ndarray) -> np.ndarray:
    text = np.array([f"{v:.2f}" for v in values], dtype=object)
    yen = rng.random(len(values)) < 0.10
    text[yen] = [f"¥{v:,.2f}" for v in values[yen]]
    return text


def _rows(rng, n: int, share: float, at_least: int = 2) -> np.ndarray:
    return rng.choice(n, size=min(n, max(at_least, int(n * share))), replace=False)


def export_tables(demo: SubscriptionDemo, seed: int = 42) -> dict[str, pd.DataFrame]:
    """The four tables as a CRM exports them: Chinese headers, words for periods, terms, statuses
    and outcomes, amounts as `¥1,234.50` now and then, a few day/month/year dates, and the same
    kinds of bad rows as the transaction demo (missing ids, unparseable dates, absurd amounts,
    future-dated rows, exact duplicates), plus the subscription export's own: a row ending before
    it starts, an unknown billing period, a cancelled status with no end date. Columns by
    canonical name (`with_headers` gives the user's); one generator, drawn table by table."""
    rng = np.random.default_rng(seed + 1)
    return {
        "subscriptions": _subscriptions(rng, demo.subscriptions),
        "payments": _payments(rng, demo.payments),
        "usage": _usage(rng, demo.usage),
        "customers": _customers(rng, demo.customers),
    }


def _subscriptions(rng: np.random.Generator, spells: pd.DataFrame) -> pd.DataFrame:
    subs = pd.DataFrame(
        {
            s.CUSTOMER_ID: spells[s.CUSTOMER_ID].to_numpy(dtype=object),
            s.SUBSCRIPTION_ID: spells[s.SUBSCRIPTION_ID].to_numpy(dtype=object),
            s.PLAN: spells[s.PLAN].to_numpy(dtype=object),
            s.START: _date_text(rng, spells[s.START].to_numpy()),
            s.END: _date_text(rng, spells[s.END].to_numpy()),
            s.AMOUNT: _money_text(rng, spells[s.AMOUNT].to_numpy(float)),
            "billing_period": _pick(rng, BILLING_WORDS, spells[s.BILLING_MONTHS].to_numpy()),
            "contract": _pick(rng, CONTRACT_WORDS, spells[s.CONTRACT_MONTHS].to_numpy()),
            s.STATUS: spells[s.STATUS].map(STATUS_WORDS).to_numpy(dtype=object),
        }
    )
    n = len(subs)
    subs.loc[_rows(rng, n, 0.001), s.CUSTOMER_ID] = ""
    bad = _rows(rng, n, 0.0005)
    subs.loc[bad, s.START] = rng.choice(["2024-02-30", "未知", "31/13/2024"], len(bad))
    subs.loc[_rows(rng, n, 0.0001), s.AMOUNT] = "98765432.10"
    running_rows = np.flatnonzero((subs[s.END] == "").to_numpy())
    subs.loc[running_rows[_rows(rng, len(running_rows), 0.0003)], s.START] = "2027-03-01"
    ended = np.flatnonzero((subs[s.END] != "").to_numpy())
    swap = ended[_rows(rng, len(ended), 0.0005)]  # start and end typed the wrong way round
    subs.loc[swap, [s.START, s.END]] = subs.loc[swap, [s.END, s.START]].to_numpy()
    subs.loc[_rows(rng, n, 0.0002), "billing_period"] = "双月"
    running_rows = np.flatnonzero((subs[s.END] == "").to_numpy())
    subs.loc[
        rng.choice(running_rows, max(2, len(running_rows) // 1000), replace=False), s.STATUS
    ] = "已取消"
    return pd.concat([subs, subs.iloc[_rows(rng, n, 0.002)]], ignore_index=True)


def _payments(rng: np.random.Generator, p: pd.DataFrame) -> pd.DataFrame:
    pay = pd.DataFrame(
        {
            s.CUSTOMER_ID: p[s.CUSTOMER_ID].to_numpy(dtype=object),
            s.SUBSCRIPTION_ID: p[s.SUBSCRIPTION_ID].to_numpy(dtype=object),
            s.TS: _date_text(rng, p[s.TS].to_numpy(), 0.0),
            s.AMOUNT: _money_text(rng, p[s.AMOUNT].to_numpy(float)),
            s.OUTCOME: p[s.OUTCOME].map(OUTCOME_WORDS).to_numpy(dtype=object),
        }
    )
    n = len(pay)
    pay.loc[_rows(rng, n, 0.001), s.CUSTOMER_ID] = ""
    pay.loc[_rows(rng, n, 0.0005), s.TS] = "not recorded"
    pay.loc[_rows(rng, n, 0.0005), s.OUTCOME] = "处理中"
    pay.loc[_rows(rng, n, 0.0002), s.TS] = "2027-03-01"
    return pd.concat([pay, pay.iloc[_rows(rng, n, 0.002)]], ignore_index=True)


def _usage(rng: np.random.Generator, u: pd.DataFrame) -> pd.DataFrame:
    use = pd.DataFrame(
        {
            s.CUSTOMER_ID: u[s.CUSTOMER_ID].to_numpy(dtype=object),
            s.SUBSCRIPTION_ID: u[s.SUBSCRIPTION_ID].to_numpy(dtype=object),
            s.TS: _date_text(rng, u[s.TS].to_numpy(), 0.0),
            s.QUANTITY: u[s.QUANTITY].map("{:g}".format).to_numpy(dtype=object),
            s.KIND: u[s.KIND].to_numpy(dtype=object),
        }
    )
    n = len(use)
    use.loc[_rows(rng, n, 0.001), s.CUSTOMER_ID] = ""
    use.loc[_rows(rng, n, 0.0002), s.QUANTITY] = "-5"
    use.loc[_rows(rng, n, 0.0005), s.TS] = "2024-13-01"
    return pd.concat([use, use.iloc[_rows(rng, n, 0.002)]], ignore_index=True)


def _customers(rng: np.random.Generator, k: pd.DataFrame) -> pd.DataFrame:
    """Employees as "1,200" or "约50" now and then, yes/no in words, gaps in every category."""
    size = k["company_size"].to_numpy(float)
    size_text = np.array(
        ["" if np.isnan(v) else (f"{v:,.0f}" if v >= 1000 else f"{v:.0f}") for v in size],
        dtype=object,
    )
    fuzzy = np.flatnonzero(~np.isnan(size))
    fuzzy = fuzzy[rng.random(len(fuzzy)) < 0.01]
    size_text[fuzzy] = [f"约{v:.0f}" for v in size[fuzzy]]
    cust = pd.DataFrame(
        {
            s.CUSTOMER_ID: k[s.CUSTOMER_ID].to_numpy(dtype=object),
            "industry": k["industry"].to_numpy(dtype=object),
            "company_size": size_text,
            "credit_grade": k["credit_grade"].to_numpy(dtype=object),
            "payment_method": k["payment_method"].to_numpy(dtype=object),
            "is_business": np.where(k["is_business"].to_numpy(bool), "是", "否").astype(object),
            "signup_date": _date_text(rng, k["signup_date"].to_numpy(), 0.05),
            "region": k["region"].to_numpy(dtype=object),
            "acquisition_channel": k["acquisition_channel"].to_numpy(dtype=object),
            "valid_from": _date_text(rng, k["valid_from"].to_numpy(), 0.0),
        }
    )
    for column in ("industry", "credit_grade", "payment_method", "region", "acquisition_channel"):
        cust.loc[rng.random(len(cust)) < 0.03, column] = ""  # real CRMs have gaps
    cust.loc[_rows(rng, len(cust), 0.001), s.CUSTOMER_ID] = ""
    return cust


def headers(data: DataConfig) -> dict[str, dict[str, str]]:
    """Per table, canonical name -> the user's header, from conf/data (a typed customer column:
    its `column`; the validity date: `data.customer_validity.valid_from`)."""
    customers = {
        name: spec["column"] if isinstance(spec, dict) else spec
        for name, spec in data.customer_columns.items()
    }
    customers["valid_from"] = (data.customer_validity or {}).get("valid_from")
    found = {
        "subscriptions": data.subscriptions.get("columns") or {},
        "payments": data.payments.get("columns") or {},
        "usage": data.usage.get("columns") or {},
        "customers": customers,
    }
    return {table: {k: str(v) for k, v in m.items() if v is not None} for table, m in found.items()}


def with_headers(tables: dict[str, pd.DataFrame], data: DataConfig) -> dict[str, pd.DataFrame]:
    """The export's tables with the user's headers (unmapped columns keep their own names)."""
    names = headers(data)
    return {table: frame.rename(columns=names[table]) for table, frame in tables.items()}
