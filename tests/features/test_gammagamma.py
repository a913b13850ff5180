"""Gamma-Gamma recovers known parameters from spend simulated by its own story, and shrinks
thin histories towards the population's average order."""

from __future__ import annotations

import numpy as np
import pytest

from segml.features.gammagamma import GammaGamma, fit_expected_spend, simulate


@pytest.mark.parametrize("truth", [(6.0, 4.0, 15.0), (2.0, 3.0, 400.0)])
def test_parameter_recovery(truth):
    n = np.random.default_rng(1).integers(2, 15, 40_000).astype(float)
    m = simulate(*truth, n, seed=3)
    fitted = GammaGamma(max_customers=40_000).fit(n, m).params_
    assert np.allclose(fitted, truth, rtol=0.15)
    # the population mean spend per purchase, p * gamma / (q - 1), is identified closely
    p, q, gamma = truth
    assert fitted[0] * fitted[2] / (fitted[1] - 1) == pytest.approx(p * gamma / (q - 1), rel=0.05)


def test_expected_spend_shrinks_few_purchases_towards_the_mean():
    model = GammaGamma()
    model.params_ = np.array([6.0, 4.0, 15.0])
    population = 6.0 * 15.0 / 3.0  # 30 per purchase
    one, many = model.expected_spend([1, 20], [90.0, 90.0])
    assert population < one < many < 90.0  # one big purchase says less than twenty
    assert model.expected_spend([1], [population])[0] == pytest.approx(population)


def test_too_few_repeat_buyers_keep_their_own_average():
    assert fit_expected_spend(np.array([1.0, 2.0, 1.0]), np.array([10.0, 20.0, 30.0])).tolist() == [
        10.0,
        20.0,
        30.0,
    ]
