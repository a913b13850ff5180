"""The baseline rules each model must beat: which feature each rule reads, and the best
"no purchase in the last N days" cut."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, expit

from segml.data import schema as s
from segml.features.build import feature_columns

# Baselines the models must beat: name -> feature (calibrated to the label). BG/NBD is read two
# ways: its probability of no purchase in the window, and its expected purchases (fewer: more
# risk), which keeps ranking frequent buyers where the probability saturates near zero.
CHURN_BASELINES = {
    "baseline_recency": "recency_days",
    "baseline_bgnbd": "bgnbd_p_no_purchase",
    "baseline_bgnbd_expected": "bgnbd_expected_purchases",
}
# rules whose score falls as their feature rises
DECREASING = {"baseline_bgnbd_expected"}
# When the backtest cannot tell two readings apart (mean difference inside its spread), the second
# is kept: on cohort-shaped data the folds sit earlier in the customers' life than the snapshot,
# and the expected purchases ranked the real future better there (README, "Model quality").
PREFERRED_ON_A_TIE = {"baseline_bgnbd": "baseline_bgnbd_expected"}


def value_baselines(horizon_days: int) -> dict[str, str]:
    """Last period's spend, and BG/NBD expected purchases x Gamma-Gamma expected order value."""
    return {
        "baseline_last_period": f"spend_{horizon_days}d",
        "baseline_bgnbd": "bgnbd_expected_value",
    }


def best_recency_days(train: pd.DataFrame) -> float:
    """The single "no purchase in the last N days" rule that best separates churners (Youden's J)."""
    r, y = train["recency_days"].to_numpy(float), train[s.CHURNED].to_numpy(float)
    candidates = np.unique(np.quantile(r, np.linspace(0.02, 0.98, 49)))
    tpr = np.array([(r[y == 1] > n).mean() for n in candidates])
    fpr = np.array([(r[y == 0] > n).mean() for n in candidates])
    return float(candidates[int(np.argmax(tpr - fpr))])


# --- subscribers (data.kind: subscriptions; docs/design-subscriptions.md, section 7) -----------
# Both scorers have the interface of `RuleScorer` (fit(frame, y, vocabulary) -> self, predict,
# predict_proba, contributions, features_, trained_columns_), so the walk-forward backtest, the
# refit and the tier stage use them as they use the recency rule.

TENURE_BANDS = (0, 90, 180, 365, 730, 1460)  # days; the last band is open
SUBSCRIBER_CHURN_BASELINES = {
    "baseline_contract_tenure": "tenure_days",
    "baseline_survival": "tenure_days",
}


def subscriber_value_baselines(horizon_days: int) -> dict[str, str]:
    """The run rate (monthly recurring revenue x the window), and the last H days' revenue."""
    return {"baseline_run_rate": s.MRR, "baseline_last_period": f"revenue_{horizon_days}d"}


class _TableScorer:
    """What the subscriber baselines share: the columns trained on, and contributions measured
    from the training average and put on the contract term (the first key)."""

    name: str
    features_: list[str]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.predict(frame)

    def _remember(self, frame: pd.DataFrame, vocabulary) -> None:
        self.vocabulary_ = vocabulary
        self.trained_columns_ = feature_columns(frame)
        self.reference_ = float(np.mean(self.predict(frame))) if len(frame) else 0.0

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        d = self.predict(frame) - self.reference_
        return pd.DataFrame(
            {f: d if i == 0 else 0.0 for i, f in enumerate(self.features_)}, index=frame.index
        )


def _contract(frame: pd.DataFrame) -> np.ndarray:
    return frame[s.CONTRACT_MONTHS].fillna(0).to_numpy(float)


class ContractTenureRule(_TableScorer):
    """What a retention team computes by hand: the churn rate of each contract term x tenure band
    in the training rows, shrunk towards the term's own rate with the weight of `prior` customers
    (a term never seen: the overall rate)."""

    def __init__(self, name: str = "baseline_contract_tenure", prior: float = 50.0):
        self.name, self.prior, self.bands = name, prior, TENURE_BANDS

    def _band(self, frame: pd.DataFrame) -> np.ndarray:
        edges = np.asarray(self.bands[1:], float)
        return np.searchsorted(edges, frame["tenure_days"].to_numpy(float), side="right")

    def fit(self, frame: pd.DataFrame, y=None, vocabulary=None) -> ContractTenureRule:
        self.features_ = [s.CONTRACT_MONTHS, "tenure_days"]
        table = pd.DataFrame(
            {"c": _contract(frame), "b": self._band(frame), "y": np.asarray(y, float)}
        )
        self.overall_ = float(table["y"].mean()) if len(table) else 0.0
        per_term = table.groupby("c")["y"].agg(["sum", "size"])
        term_rate = (per_term["sum"] + self.prior * self.overall_) / (per_term["size"] + self.prior)
        cells = table.groupby(["c", "b"])["y"].agg(["sum", "size"]).reset_index()
        shrunk_to = term_rate.reindex(cells["c"]).to_numpy()
        rate = (cells["sum"] + self.prior * shrunk_to) / (cells["size"] + self.prior)
        self.term_rate_ = {float(k): float(v) for k, v in term_rate.items()}
        self.rates_ = {
            (float(c), int(b)): float(r) for c, b, r in zip(cells["c"], cells["b"], rate)
        }
        self._remember(frame, vocabulary)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        contract, band = _contract(frame), self._band(frame)
        rate = np.full(len(frame), np.nan)
        if self.rates_:
            keys = pd.MultiIndex.from_arrays([contract, band])
            rate = pd.Series(self.rates_).reindex(keys).to_numpy(float)
        per_term = pd.Series(self.term_rate_, dtype=float).reindex(contract).to_numpy(float)
        rate = np.where(np.isnan(rate), per_term, rate)
        return np.where(np.isnan(rate), self.overall_, rate)


class SbgScorer(_TableScorer):
    """Fader & Hardie's shifted-beta-geometric model per contract term ("How to project customer
    retention", J. Interactive Marketing 2007). Each customer has a fixed chance theta of leaving
    at each renewal (a month for month-to-month, the term for contracts), theta ~ Beta(a, b);
    P(leave within H | survived n renewals) = 1 - S(n + k) / S(n), S(t) = B(a, b + t) / B(a, b),
    k the renewals in the window; contracts also leave early at a small fitted monthly rate.
    Fitted by maximum likelihood on the training rows, which are conditioned on being a customer
    at their cutoff (so customers who left before the export began bias nothing). Unfitted, it
    scores with a prior (a = 1, b = 3): churn falls with tenure and peaks at a term's end."""

    PRIOR = (0.0, np.log(3.0), -5.0)

    def __init__(
        self, horizon_days: int = 90, name: str = "baseline_survival", min_rows: int = 200
    ):
        self.horizon_days, self.name, self.min_rows = horizon_days, name, min_rows
        self.features_ = [s.CONTRACT_MONTHS, "tenure_days", "contract_days_left"]
        self.params_, self.pooled_ = {}, np.array(self.PRIOR)

    def _exposure(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row: contract months, renewals survived (n) and renewals in the window (k)."""
        contract, tenure = _contract(frame), frame["tenure_days"].to_numpy(float)
        period = np.where(contract > 0, contract, 1) * s.DAYS_PER_MONTH
        n = np.floor(tenure / period)
        k_monthly = np.floor((tenure + self.horizon_days) / period) - n
        left = frame["contract_days_left"].to_numpy(float)
        k_term = (np.nan_to_num(left, nan=np.inf) <= self.horizon_days).astype(float)
        return contract, n, np.where(contract > 0, k_term, k_monthly)

    def _p(self, params, n, k) -> np.ndarray:
        alpha, beta = np.exp(params[0]), np.exp(params[1])
        stay = np.exp(betaln(alpha, beta + n + k) - betaln(alpha, beta + n))
        if len(params) == 3:  # leaving before a contract's term ends
            stay = stay * (1 - expit(params[2])) ** (self.horizon_days / s.DAYS_PER_MONTH)
        return np.clip(1 - stay, 1e-9, 1 - 1e-9)

    def _fit_one(self, n, k, y, early: bool) -> np.ndarray:
        # the likelihood depends on (n, k, y) only: a few hundred cells, however many customers
        cells = pd.DataFrame({"n": n, "k": k, "y": y}).value_counts().reset_index()
        n, k, y, w = (cells[c].to_numpy(float) for c in ("n", "k", "y", "count"))

        def nll(params):
            p = self._p(params, n, k)
            return -np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p)))

        start = np.array(self.PRIOR if early else self.PRIOR[:2])
        bounds = [(-6, 6), (-6, 10), (-12, 0)][: len(start)]
        return minimize(nll, start, method="L-BFGS-B", bounds=bounds).x

    def fit(self, frame: pd.DataFrame, y=None, vocabulary=None) -> SbgScorer:
        contract, n, k = self._exposure(frame)
        y = np.asarray(y, float)
        self.params_ = {
            float(term): self._fit_one(n[on], k[on], y[on], early=term > 0)
            for term in np.unique(contract)
            if (on := contract == term).sum() >= self.min_rows
        }
        # a term too rare to fit alone: one model for every term
        self.pooled_ = self._fit_one(n, k, y, early=True) if len(y) else np.array(self.PRIOR)
        self._remember(frame, vocabulary)
        return self

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        contract, n, k = self._exposure(frame)
        out = self._p(self.pooled_, n, k)
        for term, params in self.params_.items():
            on = contract == term
            out[on] = self._p(params, n[on], k[on])
        return out


# subscribers' purchases in the last 90 days, on their rows when the project has both exports
# (`features.both`: the purchase features joined under the prefix `purchase_`)
PURCHASES_90D = "purchase_spend_90d"


class RunRate(_TableScorer):
    """Value in the next H days at today's recurring revenue: mrr x H / 30.4375 (needs no labels).
    With both exports the value label adds the purchases made in those days, so the rule adds the
    last 90 days' purchases at the same pace: a rule that left them out would flatter the model."""

    def __init__(self, horizon_days: int, name: str = "baseline_run_rate"):
        self.horizon_days, self.name, self.features_ = horizon_days, name, [s.MRR]

    def fit(self, frame: pd.DataFrame, y=None, vocabulary=None) -> RunRate:
        if PURCHASES_90D in frame.columns:
            self.features_ = [s.MRR, PURCHASES_90D]
        self._remember(frame, vocabulary)
        parts = self._parts(frame)
        self.part_means_ = {f: float(np.mean(v)) if len(frame) else 0.0 for f, v in parts.items()}
        return self

    def _parts(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The fees over the window, and (with both exports) the purchases at their last pace."""
        mrr = np.clip(np.nan_to_num(frame[s.MRR].to_numpy(float)), 0, None)
        parts = {s.MRR: mrr * self.horizon_days / s.DAYS_PER_MONTH}
        if PURCHASES_90D in self.features_:
            spend = np.clip(np.nan_to_num(frame[PURCHASES_90D].to_numpy(float)), 0, None)
            parts[PURCHASES_90D] = spend * self.horizon_days / 90
        return parts

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return sum(self._parts(frame).values())

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """With purchases, each part's distance from its training mean on its own column (a
        customer's value is high because they also buy, or because of their fee)."""
        if len(self.features_) == 1:
            return super().contributions(frame)
        means = self.part_means_
        parts = self._parts(frame)
        return pd.DataFrame({f: v - means[f] for f, v in parts.items()}, index=frame.index)
