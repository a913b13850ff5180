"""BG/NBD buy-till-you-die model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

Per customer: x = repeat purchases (distinct purchase days minus one), t_x = days from first to
last purchase, T = days from first purchase to the cutoff. Time is measured in days.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln, hyp2f1


def log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient in (r, alpha, a, b), as a 4 x n array.

    ll = A1 + log(exp(A2) + exp(A3)), the A3 term only for customers with repeat purchases.
    """
    r, alpha, a, b = params
    repeat = x > 0
    log_T, log_tx = np.log(alpha + T), np.log(alpha + t_x)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * log_T
    with np.errstate(divide="ignore", invalid="ignore"):
        a3 = np.where(repeat, betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * log_tx, -np.inf)
        a23 = np.logaddexp(a2, a3)
        w3 = np.exp(
            a3 - a23
        )  # the share of the likelihood from "dropped out after the last purchase"
        w2 = 1 - w3
        psi_b_x1 = np.where(repeat, digamma(b + x - 1), 0.0)
    psi_abx = digamma(a + b + x)
    gradient = np.array(
        [
            digamma(r + x) - digamma(r) + np.log(alpha) - w2 * log_T - w3 * log_tx,
            r / alpha - (r + x) * (w2 / (alpha + T) + w3 / (alpha + t_x)),
            digamma(a + b) - psi_abx + w3 / a,
            digamma(a + b) - digamma(b) - psi_abx + w2 * digamma(b + x) + w3 * psi_b_x1,
        ]
    )
    return a1 + a23, gradient


def _per_distinct(x: np.ndarray, T: np.ndarray, f) -> np.ndarray:
    """f(x, T) evaluated once per distinct (x, T): customers share few (x is a count, T whole days)."""
    if len(x) == 0:
        return f(x, T)
    key = x * (T.max() + 1) + T  # one number per pair, as x is a whole count and 0 <= T <= max
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return f(x[first], T[first])[inverse]


class BGNBD:
    """scikit-learn-shaped: `fit(x, t_x, T)` learns `params_` = (r, alpha, a, b)."""

    def __init__(self, max_customers: int = 10_000, random_state: int = 0):
        self.max_customers = max_customers
        self.random_state = random_state

    def fit(self, x, t_x, T) -> BGNBD:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if len(x) > self.max_customers:  # the four parameters are well determined by a sample
            pick = np.random.default_rng(self.random_state).choice(
                len(x), self.max_customers, replace=False
            )
            x, t_x, T = x[pick], t_x[pick], T[pick]
        # identical (x, t_x, T) rows contribute identically: weight unique rows
        rows, counts = np.unique(np.column_stack([x, t_x, T]), axis=0, return_counts=True)
        ux, ut, uT = rows.T
        scale = max(float(np.mean(T)), 1.0)

        weights = counts / counts.sum()

        def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
            """Mean negative log-likelihood and its gradient, in log-parameters (all stay positive)."""
            params = np.exp(log_params)
            ll, gradient = log_likelihood(params, ux, ut, uT)
            return -float(weights @ ll), -(gradient @ weights) * params

        start = np.log([1.0, scale / 10, 1.0, 3.0])
        result = minimize(objective, start, jac=True, method="L-BFGS-B")
        if not result.success:  # a rough surface: the slower simplex search is more robust
            result = minimize(
                lambda p: objective(p)[0],
                result.x,
                method="Nelder-Mead",
                options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-10},
            )
        self.params_ = np.exp(result.x)
        self.converged_ = bool(result.success)
        self.log_likelihood_ = -result.fun
        return self

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """Probability the customer has not dropped out by T."""
        r, alpha, a, b = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (
                np.log(a) - np.log(b + x - 1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
            )
            odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700)), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """Expected number of purchases in the next t days (conditional expectation)."""
        return self.predict(t, x, t_x, T)[1]

    def p_no_purchase(self, t: float, x, t_x, T) -> np.ndarray:
        """P(no purchase in the next t days): dropped out, or alive and Poisson-silent.

        Alive customers' rate posterior is Gamma(r + x, alpha + T); dropouts during the window
        are ignored, which makes this a slight under-estimate.
        """
        return self.predict(t, x, t_x, T)[2]

    def predict(self, t: float, x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P(alive), expected purchases, P(no purchase)) over the next t days, sharing the work."""
        r, alpha, a, b = self.params_
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        alive = self.p_alive(x, t_x, T)
        silent_if_alive = ((alpha + T) / (alpha + T + t)) ** (r + x)
        hyp = _per_distinct(
            x, T, lambda x, T: hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        )
        with np.errstate(divide="ignore", invalid="ignore"):  # a = 1 (no repeat buyer): 0 below
            expected = (a + b + x - 1) / (a - 1) * (1 - silent_if_alive * hyp) * alive
        expected = np.nan_to_num(np.clip(expected, 0, None), nan=0.0, posinf=0.0)
        return alive, expected, (1 - alive) + alive * silent_if_alive


def fit_params(x, t_x, T) -> np.ndarray | None:
    """(r, alpha, a, b) fitted on every customer given; None for too few to fit four parameters."""
    return BGNBD().fit(x, t_x, T).params_ if len(x) >= 20 else None


def predict_with(params: np.ndarray | None, t: float, x, t_x, T):
    """`BGNBD.predict` with given parameters; without any, an uninformed (alive, 0, 0.5)."""
    if params is None:
        n = len(x)
        return np.ones(n), np.zeros(n), np.full(n, 0.5)
    model = BGNBD()
    model.params_ = params
    return model.predict(t, x, t_x, T)


def fit_predict(x, t_x, T, rows, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit on every customer given, then `predict` the next t days for `rows` (positions) of
    them: one cutoff's BG/NBD, as one call for a worker thread."""
    return predict_with(fit_params(x, t_x, T), t, x[rows], t_x[rows], T[rows])


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
