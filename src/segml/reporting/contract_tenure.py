"""The contract x tenure churn table: subscribers' counterpart of the frequency x recency matrices
(docs/design-subscriptions.md, section 11). Customers, their share, fees and mean churn probability
per contract type (the main subscription's term) and band of time subscribed without a break, from
the tier table alone. The workbook's `contract_tenure` sheet and the report's section read it."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from segml.reporting.html_table import html_table
from segml.reporting.text import Words, count, percent

# time subscribed without a break (`tenure_days`): [from, to) days and its words
TENURE_BANDS = [
    (0, 90, "不足3个月", "Under 3 months"),
    (90, 365, "3–12个月", "3–12 months"),
    (365, 730, "1–2年", "1–2 years"),
    (730, math.inf, "2年及以上", "2 years or more"),
]
NEEDED = ("contract_months", "tenure_days", "churn_probability")


def contract_words(months: float) -> tuple[str, str]:
    """A contract term in months as (zh, en) words: 0 is month-to-month."""
    if months is None or np.isnan(months):
        return "合约未知", "Contract not recorded"
    if months == 0:
        return "无合约（按月）", "Month-to-month"
    return f"{months:.0f}个月合约", f"{months:.0f}-month contract"


def contract_tenure(table: pd.DataFrame) -> pd.DataFrame:
    """One row per contract type and tenure band holding scored subscribers (those with a churn
    probability: cancelled ones are listed apart), month-to-month first, shorter tenure first:
    the names in both languages, customers, share of the scored, fees of the last 12 months and
    the mean churn probability. Empty when the table has no contract or tenure."""
    if not set(NEEDED) <= set(table.columns):
        return pd.DataFrame()
    scored = table[table["churn_probability"].notna().to_numpy()]
    if scored.empty:
        return pd.DataFrame()
    months = pd.to_numeric(scored["contract_months"], errors="coerce").to_numpy(float)
    tenure = pd.to_numeric(scored["tenure_days"], errors="coerce").to_numpy(float)
    band = np.full(len(scored), -1)
    for i, (low, high, _, _) in enumerate(TENURE_BANDS):
        band[(tenure >= low) & (tenure < high)] = i
    frame = pd.DataFrame(
        {
            "months": np.where(np.isnan(months), np.inf, months),  # unknown terms last
            "band": band,
            "value": scored["current_value"].clip(lower=0).to_numpy()
            if "current_value" in scored
            else np.nan,
            "p": scored["churn_probability"].to_numpy(float),
        }
    )
    frame = frame[frame["band"] >= 0]
    grouped = frame.groupby(["months", "band"], sort=True)
    out = grouped.agg(
        customers=("p", "size"),
        current_value=("value", "sum"),
        mean_churn_probability=("p", "mean"),
    ).reset_index()
    names = [contract_words(np.nan if np.isinf(m) else m) for m in out["months"]]
    bands = [TENURE_BANDS[b] for b in out["band"]]
    return pd.DataFrame(
        {
            "contract_type_zh": [zh for zh, _ in names],
            "contract_type_en": [en for _, en in names],
            "tenure_band_zh": [b[2] for b in bands],
            "tenure_band_en": [b[3] for b in bands],
            "customers": out["customers"].astype("int64"),
            "customer_share": out["customers"] / max(len(scored), 1),
            "current_value": out["current_value"],
            "mean_churn_probability": out["mean_churn_probability"],
        }
    )


def contract_tenure_section(table: pd.DataFrame, w: Words) -> str:
    """The report's table: contract types down, tenure bands across, each cell the mean churn
    probability and how many subscribers it holds."""
    frame = contract_tenure(table)
    if frame.empty:
        return f"<p>{w.sentence('no_matrices')}</p>"
    contract, band = w.column(frame, "contract_type"), w.column(frame, "tenure_band")
    cells = [
        f"{percent(p)} · {count(n)}"
        for p, n in zip(frame["mean_churn_probability"], frame["customers"])
    ]
    grid = pd.DataFrame({"contract": contract, "band": band, "cell": cells})
    bands = list(dict.fromkeys(w.column(_band_names(), "tenure_band")))
    shown = grid.pivot(index="contract", columns="band", values="cell")
    shown = shown.reindex(index=list(dict.fromkeys(contract)), columns=bands).dropna(
        how="all", axis=1
    )
    shown = shown.rename_axis(w.name("contract_type"))
    shown = shown.reset_index()
    shown.columns.name = None
    return html_table(shown) + f"<p>{w.sentence('matrices_note')}</p>"


def _band_names() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tenure_band_zh": [b[2] for b in TENURE_BANDS],
            "tenure_band_en": [b[3] for b in TENURE_BANDS],
        }
    )
