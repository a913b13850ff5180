"""BG/NBD recovers known parameters from data simulated by its own generative story."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from segml.features.bgnbd import BGNBD, log_likelihood, simulate


@pytest.mark.parametrize("truth", [(0.6, 40.0, 0.8, 2.5), (1.5, 20.0, 0.5, 4.0)])
def test_parameter_recovery(truth):
    T = np.random.default_rng(1).uniform(200, 700, 6000)
    x, t_x = simulate(*truth, T, seed=3)
    fitted = BGNBD(max_customers=10_000).fit(x, t_x, T).params_
    r, alpha, a, b = truth
    # the purchase-rate mean r/alpha and the dropout mean a/(a+b) are well identified
    assert fitted[0] / fitted[1] == pytest.approx(r / alpha, rel=0.1)
    assert fitted[2] / (fitted[2] + fitted[3]) == pytest.approx(a / (a + b), rel=0.2)
    assert np.allclose(fitted, truth, rtol=0.35)


def test_predictions_behave():
    model = BGNBD()
    model.params_ = np.array([0.6, 40.0, 0.8, 2.5])
    # same history, longer silence since the last purchase -> less likely alive, fewer purchases
    alive = model.p_alive([5, 5], [300, 100], [320, 320])
    assert alive[0] > alive[1]
    assert model.p_alive([0], [0], [300])[0] == 1.0  # no repeat yet: BG/NBD cannot have dropped out
    expected = model.expected_purchases(90, [5, 5], [300, 100], [320, 320])
    assert expected[0] > expected[1] > 0
    silent = model.p_no_purchase(90, [5, 5], [300, 100], [320, 320])
    assert 0 < silent[0] < silent[1] < 1


def test_gradient_matches_finite_differences():
    """The fit follows the analytic gradient; a wrong one would still 'converge', somewhere else."""
    T = np.random.default_rng(2).uniform(100, 500, 300)
    x, t_x = simulate(0.6, 40.0, 0.8, 2.5, T, seed=4)
    for params in ([0.6, 40.0, 0.8, 2.5], [1.7, 12.0, 0.3, 6.0]):
        params = np.array(params)
        _, gradient = log_likelihood(params, x, t_x, T)
        numeric = approx_fprime(
            params, lambda p: log_likelihood(p, x, t_x, T)[0].sum(), 1e-6 * params
        )
        assert np.allclose(gradient.sum(axis=1), numeric, rtol=1e-4, atol=1e-3)
