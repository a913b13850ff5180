"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"), fitted by maximum likelihood.

Per customer: n = purchase days, m = mean gross spend per purchase day. Each purchase's spend is
Gamma(p, nu) with the customer's own scale nu ~ Gamma(q, gamma) across customers, independent of
how often they buy. The model shrinks a customer's observed average towards the population's,
the more the fewer purchases it rests on: E[M | n, m] = p (gamma + n m) / (p n + q - 1).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln


def log_likelihood(params: np.ndarray, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood of the observed mean spend m over n purchases."""
    p, q, gamma = params
    pn = p * n
    return (
        gammaln(pn + q)
        - gammaln(pn)
        - gammaln(q)
        + q * np.log(gamma)
        + (pn - 1) * np.log(m)
        + pn * np.log(n)
        - (pn + q) * np.log(n * m + gamma)
    )


class GammaGamma:
    """scikit-learn-shaped: `fit(n, m)` learns `params_` = (p, q, gamma); q > 1 so the mean exists."""

    def __init__(self, max_customers: int = 10_000, random_state: int = 0):
        self.max_customers = max_customers
        self.random_state = random_state

    def fit(self, n, m) -> GammaGamma:
        n, m = np.asarray(n, dtype=float), np.asarray(m, dtype=float)
        keep = (n > 0) & (m > 0)
        n, m = n[keep], m[keep]
        if len(n) > self.max_customers:  # three parameters are well determined by a sample
            pick = np.random.default_rng(self.random_state).choice(
                len(n), self.max_customers, replace=False
            )
            n, m = n[pick], m[pick]
        scale = float(np.mean(m))

        def objective(theta: np.ndarray) -> float:
            return -float(np.mean(log_likelihood(self._params(theta), n, m / scale)))

        # spend is fitted in units of its mean, so one starting point suits any currency
        result = minimize(objective, np.log([2.0, 2.0, 1.0]), method="L-BFGS-B")
        if not result.success:
            result = minimize(objective, result.x, method="Nelder-Mead", options={"maxiter": 4000})
        p, q, gamma = self._params(result.x)
        self.params_ = np.array([p, q, gamma * scale])
        self.converged_ = bool(result.success)
        return self

    @staticmethod
    def _params(theta: np.ndarray) -> np.ndarray:
        p, q_minus_1, gamma = np.exp(theta)
        return np.array([p, 1.0 + q_minus_1, gamma])

    def expected_spend(self, n, m) -> np.ndarray:
        """Expected spend per purchase day; customers who never bought get the population mean."""
        p, q, gamma = self.params_
        n, m = np.asarray(n, dtype=float), np.nan_to_num(np.asarray(m, dtype=float))
        return p * (gamma + n * np.clip(m, 0, None)) / (p * n + q - 1)


def fit_params(n, m) -> np.ndarray | None:
    """(p, q, gamma) fitted on the repeat buyers given (they carry the information); None for too
    few to fit."""
    n, m = np.asarray(n, dtype=float), np.asarray(m, dtype=float)
    repeat = (n >= 2) & (m > 0)
    return GammaGamma().fit(n[repeat], m[repeat]).params_ if repeat.sum() >= 20 else None


def expected_spend_with(params: np.ndarray | None, n, m) -> np.ndarray:
    """`GammaGamma.expected_spend` with given parameters; without any, the customer's own average."""
    if params is None:
        return np.clip(np.nan_to_num(np.asarray(m, dtype=float)), 0, None)
    model = GammaGamma()
    model.params_ = params
    return model.expected_spend(n, m)


def fit_expected_spend(n, m) -> np.ndarray:
    """Fit on the customers given and predict for all of them."""
    return expected_spend_with(fit_params(n, m), n, m)


def simulate(p: float, q: float, gamma: float, n: np.ndarray, seed: int = 0) -> np.ndarray:
    """Draw each customer's mean spend over n purchases from the model, for recovery tests."""
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1 / gamma, len(n))
    # the sum of n Gamma(p, nu) purchases is Gamma(p n, nu)
    return rng.gamma(p * n, 1 / nu) / n
