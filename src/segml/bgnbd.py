"""BG/NBD buy-till-you-die model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

Per customer: x = repeat purchases (distinct purchase days minus one), t_x = days from first to
last purchase, T = days from first purchase to the cutoff. Time is measured in days.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1


def _log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a3 = np.where(
            x > 0,
            betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + np.logaddexp(a2, a3)


class BGNBD:
    """scikit-learn-shaped: `fit(x, t_x, T)` learns `params_` = (r, alpha, a, b)."""

    def __init__(self, max_customers: int = 20_000, random_state: int = 0):
        self.max_customers = max_customers
        self.random_state = random_state

    def fit(self, x, t_x, T) -> BGNBD:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if len(x) > self.max_customers:  # the four parameters are well determined by a sample
            pick = np.random.default_rng(self.random_state).choice(len(x), self.max_customers, replace=False)
            x, t_x, T = x[pick], t_x[pick], T[pick]
        # identical (x, t_x, T) rows contribute identically: weight unique rows
        rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        ux, ut, uT = rows.T
        scale = max(float(np.mean(T)), 1.0)

        def objective(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            ll = _log_likelihood(params, ux, ut, uT)
            return -float(np.sum(counts * ll)) / counts.sum()

        start = np.log([1.0, scale / 10, 1.0, 3.0])
        result = minimize(objective, start, method="L-BFGS-B")
        if not result.success:  # a rough surface: the slower simplex search is more robust
            result = minimize(objective, result.x, method="Nelder-Mead",
                              options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-10})
        self.params_ = np.exp(result.x)
        self.converged_ = bool(result.success)
        self.log_likelihood_ = -result.fun
        return self

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """Probability the customer has not dropped out by T."""
        r, alpha, a, b = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700)), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """Expected number of purchases in the next t days (conditional expectation)."""
        r, alpha, a, b = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        z = t / (alpha + T + t)
        hyp = hyp2f1(r + x, b + x, a + b + x - 1, z)
        numerator = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
        value = numerator * self.p_alive(x, t_x, T)
        return np.nan_to_num(np.clip(value, 0, None), nan=0.0, posinf=0.0)

    def p_no_purchase(self, t: float, x, t_x, T) -> np.ndarray:
        """P(no purchase in the next t days): dropped out, or alive and Poisson-silent.

        Alive customers' rate posterior is Gamma(r + x, alpha + T); dropouts during the window
        are ignored, which makes this a slight under-estimate.
        """
        r, alpha, _, _ = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        silent_if_alive = ((alpha + T) / (alpha + T + t)) ** (r + x)
        alive = self.p_alive(x, t_x, T)
        return (1 - alive) + alive * silent_if_alive


def simulate(r: float, alpha: float, a: float, b: float, T: np.ndarray, seed: int = 0):
    """Draw (x, t_x) from the BG/NBD generative story, for parameter-recovery tests."""
    rng = np.random.default_rng(seed)
    n = len(T)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):  # a short loop per customer is fine for test-sized samples
        t, alive = 0.0, True
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            alive = rng.random() > p[i]
    return x, t_x
