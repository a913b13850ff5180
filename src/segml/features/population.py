"""The population fits at each cutoff: BG/NBD and Gamma-Gamma, fitted on every customer who had
bought by the cutoff, and their predictions for the customers of a feature table.

`segml.features.build` calls `bgnbd_at` and `gamma_gamma_at` per cutoff; on the Dask path
(`segml.features.partitioned`) each partition returns its `population_inputs`, the whole
population's parameters are fitted once (`fit_population`) and handed back to every partition, so
partitions give the same features as one pass over all customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.data import schema as s
from segml.features import bgnbd, gammagamma
from segml.features.transactions import MONEY_UNITS, RunningTotals, TransactionIndex


@dataclass(frozen=True)
class PopulationFit:
    """One cutoff's BG/NBD and Gamma-Gamma parameters, fitted on every customer who had bought by
    then (None: too few to fit). A partition of the customers is scored with the whole
    population's fit (`build_features(fits=...)`), so partitions give the same features as one."""

    bgnbd: np.ndarray | None
    gamma_gamma: np.ndarray | None


def population_inputs(idx: TransactionIndex, days: list[int]) -> dict[int, pd.DataFrame]:
    """Per cutoff day, what the BG/NBD and Gamma-Gamma fits read, for every customer who had
    bought by then in customer-id order: (x, t_x, T) and (n, m)."""
    at_cutoff = RunningTotals(idx, days)
    purchase_days, gap_sum = (at_cutoff.sum(w) for w in (idx.day_start, idx.gap))
    last_day = idx.first_purchase_day + gap_sum
    gross = at_cutoff.sum(np.where(idx.purchase, idx.amount, 0.0))
    inputs = {}
    for day in days:
        j = at_cutoff.row(day)
        seen = np.flatnonzero(purchase_days[j] > 0)
        x, t_x, T = recency_frequency(
            day, purchase_days[j], last_day[j], idx.first_purchase_day, seen
        )
        n, m = spend_per_day(purchase_days[j], gross[j], seen)
        columns = {"x": x, "t_x": t_x, "T": T, "n": n, "m": m}
        inputs[day] = pd.DataFrame({s.CUSTOMER_ID: idx.customer_ids[seen], **columns})
    return inputs


def fit_population(inputs: dict[int, pd.DataFrame]) -> dict[int, PopulationFit]:
    """Each cutoff's fits from `population_inputs` (of all customers, in customer-id order)."""
    return {
        day: PopulationFit(
            bgnbd.fit_params(f["x"].to_numpy(), f["t_x"].to_numpy(), f["T"].to_numpy()),
            gammagamma.fit_params(f["n"].to_numpy(), f["m"].to_numpy()),
        )
        for day, f in inputs.items()
    }


def recency_frequency(cutoff: int, purchase_days, last_day, first_day, rows):
    """BG/NBD's (x, t_x, T) of these customers (codes) at the cutoff."""
    return (
        purchase_days[rows] - 1.0,
        last_day[rows] - first_day[rows],
        cutoff - first_day[rows],
    )


def spend_per_day(purchase_days, gross, rows):
    """Gamma-Gamma's (n, m) of these customers: purchase days and gross spend per purchase day."""
    n = purchase_days[rows].astype(float)
    return n, gross[rows] / MONEY_UNITS / n


def bgnbd_at(
    cutoff: int,
    rows: np.ndarray,
    purchase_days: np.ndarray,
    last_day: np.ndarray,
    first_day: np.ndarray,
    horizon_days: int,
    fit: PopulationFit | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BG/NBD's (P(alive), expected purchases, P(no purchase)) for the customers `rows` (codes) at
    the cutoff (`purchase_days`, `last_day`: every customer's, at the cutoff), fitted on every
    customer who bought by the cutoff (so it cannot see the future), or with `fit`."""
    if fit is not None:
        rfm = recency_frequency(cutoff, purchase_days, last_day, first_day, rows)
        return bgnbd.predict_with(fit.bgnbd, horizon_days, *rfm)
    seen = np.flatnonzero(purchase_days > 0)
    x, t_x, T = recency_frequency(cutoff, purchase_days, last_day, first_day, seen)
    return bgnbd.fit_predict(x, t_x, T, np.searchsorted(seen, rows), horizon_days)


def gamma_gamma_at(
    rows: np.ndarray, purchase_days: np.ndarray, gross: np.ndarray, fit: PopulationFit | None
) -> np.ndarray:
    """Gamma-Gamma expected gross spend per purchase day for the customers `rows` (codes)
    (`purchase_days`, `gross`: every customer's, at the cutoff), fitted on every customer who
    bought by the cutoff, or with `fit`."""
    if fit is not None:
        return gammagamma.expected_spend_with(
            fit.gamma_gamma, *spend_per_day(purchase_days, gross, rows)
        )
    seen = np.flatnonzero(purchase_days > 0)
    expected = gammagamma.fit_expected_spend(*spend_per_day(purchase_days, gross, seen))
    return expected[np.searchsorted(seen, rows)]
