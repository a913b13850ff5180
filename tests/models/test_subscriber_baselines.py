"""The subscriber baselines: the sBG recovers its parameters and puts contract churn at renewals;
the contract x tenure rule is the cell rates shrunk to the term's; `targets` of subscriptions
train against them and fall back to scorers that need no labels."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from segml.config import ChurnConfig, UpsideConfig
from segml.models.baselines import ContractTenureRule, RunRate, SbgScorer
from segml.models.scorers import ChurnBlend
from segml.models.targets import targets


def survival(a, b, t):
    return np.exp(betaln(a, b + t) - betaln(a, b))


def sbg_rows(alpha, beta, n_customers=40_000, seed=0):
    """Month-to-month customers drawn from an sBG, observed at tenure n for 90 days."""
    rng = np.random.default_rng(seed)
    theta = rng.beta(alpha, beta, n_customers)
    life = rng.geometric(theta)  # months until leaving (1 = at the first renewal)
    n = rng.integers(0, 36, n_customers)
    alive = life > n
    n, life = n[alive], life[alive]
    frame = pd.DataFrame(
        {"contract_months": 0.0, "tenure_days": n * 365.25 / 12 + 1, "contract_days_left": np.nan}
    )
    return frame, (life <= n + 2).astype(float)  # renewals n + 1 and n + 2 fall in 90 days


def test_sbg_recovers_its_parameters():
    frame, y = sbg_rows(0.8, 12.0)
    model = SbgScorer(90, min_rows=100).fit(frame, y)
    a, b = np.exp(model.params_[0.0][:2])
    assert a == pytest.approx(0.8, rel=0.15) and b == pytest.approx(12.0, rel=0.2)
    t = np.arange(1, 25)  # the survival curve it implies is the true one within two points
    assert np.abs(survival(a, b, t) - survival(0.8, 12.0, t)).max() < 0.02


def test_sbg_contracts_leave_at_renewal():
    rng = np.random.default_rng(1)
    left = rng.integers(1, 365, 20_000).astype(float)
    renewing = left <= 90
    y = np.where(renewing, rng.random(len(left)) < 0.25, rng.random(len(left)) < 0.01)
    frame = pd.DataFrame(
        {"contract_months": 12.0, "tenure_days": 730 - left, "contract_days_left": left}
    )
    p = SbgScorer(90).fit(frame, y.astype(float)).predict(frame)
    assert p[renewing].mean() == pytest.approx(0.25, abs=0.03)
    assert p[~renewing].mean() == pytest.approx(0.01, abs=0.005)


def test_contract_tenure_rule_is_the_cell_rate_shrunk_to_the_contract():
    frame = pd.DataFrame(
        {"contract_months": [0.0] * 4 + [12.0] * 4, "tenure_days": [10, 20, 400, 500] * 2}
    )
    y = np.array([1, 1, 0, 0, 0, 0, 0, 1], float)
    rule = ContractTenureRule(prior=0.0).fit(frame, y)
    assert rule.predict(frame).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    # overall 3/8; month-to-month (2 + 2 x 3/8) / (4 + 2) = 11/24; its cell under 90 days
    # (2 + 2 x 11/24) / (2 + 2) = 35/48
    assert ContractTenureRule(prior=2.0).fit(frame, y).predict(frame)[0] == pytest.approx(35 / 48)
    unseen = pd.DataFrame({"contract_months": [24.0], "tenure_days": [5.0]})
    assert rule.predict(unseen)[0] == pytest.approx(3 / 8)  # a term never seen: overall rate


def rows(n=400, seed=3):
    rng = np.random.default_rng(seed)
    contract = rng.choice([0.0, 12.0], n)
    left = np.where(contract > 0, rng.integers(1, 365, n), np.nan)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "cutoff": pd.Timestamp("2025-01-01"),
            "contract_months": contract,
            "tenure_days": rng.integers(1, 900, n).astype(float),
            "contract_days_left": left,
            "mrr": rng.choice([30.0, 60.0], n),
            "revenue_90d": rng.random(n) * 100,
            "churned": (rng.random(n) < 0.2).astype(np.int8),
            "future_value": rng.random(n) * 100,
            "days_to_churn": 90.0,
        }
    )


def test_subscriber_targets_train_against_the_contractual_baselines():
    churn, value = targets(ChurnConfig(), UpsideConfig(), 90, "subscriptions")
    frame = rows()
    churn_rules = churn.rules(frame, None)
    assert set(churn_rules) == {"baseline_contract_tenure", "baseline_survival"}
    assert isinstance(churn_rules["baseline_survival"], SbgScorer)
    assert churn_rules["baseline_survival"].horizon_days == 90
    assert set(value.rules(frame, None)) == {"baseline_run_rate", "baseline_last_period"}
    # the run rate: a month's fee x 90 days
    run_rate = value.rules(frame, None)["baseline_run_rate"].predict(frame)
    assert run_rate[:3] == pytest.approx(frame["mrr"][:3] * 90 / (365.25 / 12))
    # labels are never inputs of the rules' column checks
    assert "days_to_churn" not in churn_rules["baseline_survival"].trained_columns_


def test_untrained_subscriber_models_score_without_labels():
    churn, value = targets(ChurnConfig(), UpsideConfig(), 90, "subscriptions")
    frame = rows()
    rule, summary, production = churn.untrained("no labelled customer churned", None)
    assert isinstance(rule, SbgScorer) and summary["grade"] == "C"
    p = rule.predict(frame)  # the sBG's prior: churn falls with tenure among month-to-month
    m2m = frame["contract_months"] == 0
    short, long_ = m2m & (frame["tenure_days"] < 60), m2m & (frame["tenure_days"] > 600)
    assert p[short].mean() > p[long_].mean() > 0
    assert "survival model (sBG)" in production["scorer_reason_en"]
    rule, _, production = value.untrained("no labelled customers", None)
    assert isinstance(rule, RunRate) and production["scorer"] == "baseline_run_rate"


def test_transaction_targets_are_unchanged():
    churn, value = targets(ChurnConfig(), UpsideConfig(), 90)
    assert set(churn.baselines) == {
        "baseline_recency",
        "baseline_bgnbd",
        "baseline_bgnbd_expected",
    }
    assert not churn.scorers and churn.fallback is None and value.fallback is None


def test_subscriber_baselines_have_a_portable_form_that_predicts_the_same():
    import json

    from segml.reporting import model_export as mx
    from segml.reporting import portable_model

    churn, value = targets(ChurnConfig(), UpsideConfig(), 90, "subscriptions")
    frame = rows(600)
    fitted = [*churn.rules(frame, None).values(), *value.rules(frame, None).values()]
    unseen = frame.assign(
        contract_months=np.where(frame.index % 7 == 0, 24.0, frame["contract_months"])
    )
    for model in fitted:
        portable = mx.to_portable(model)
        json.dumps(portable.spec)
        np.testing.assert_allclose(
            portable_model.predict_spec(portable.spec, unseen), model.predict(unseen), rtol=1e-9
        )
    kinds = {mx.to_portable(m).spec["kind"] for m in fitted}
    assert kinds == {"lookup", "sbg", "column"}


def test_a_blend_with_a_subscriber_baseline_explains_its_scores():
    # a blend of the model and the sBG (or contract x tenure) rule: half the baseline's effect on
    # its first key, the contract term (the tier stage's reasons crashed on it)
    frame, y = sbg_rows(0.8, 12.0, n_customers=3000)
    frame["m"] = np.linspace(0.0, 1.0, len(frame))

    class Model:
        features_ = ["m", *frame.columns[:3]]

        def predict_proba(self, rows):
            return rows["m"].to_numpy(float)

        def contributions(self, rows):
            return pd.DataFrame({"m": rows["m"] - 0.5}, index=rows.index)

    for baseline in (SbgScorer(90, min_rows=100), ContractTenureRule()):
        baseline.fit(frame, y)
        blend = ChurnBlend(Model(), baseline).fit(frame, y)
        parts = blend.contributions(frame.head(5))
        assert list(parts.columns) == ["m", "contract_months"]
        driver = np.log(baseline.predict(frame.head(5)) / (1 - baseline.predict(frame.head(5))))
        reference = np.log(baseline.reference_ / (1 - baseline.reference_))
        np.testing.assert_allclose(parts["contract_months"], (driver - reference) / 2, rtol=1e-6)


def test_the_run_rate_counts_subscribers_purchases_when_the_value_label_does():
    """With both exports a subscriber's value label is fees plus purchases in the window: the run
    rate adds the last 90 days' purchases at the same pace, else it would flatter the model."""
    from segml.features.both import JOINED, PREFIX
    from segml.models.baselines import PURCHASES_90D

    assert PURCHASES_90D in {PREFIX + name for name in JOINED}  # the column features.both joins
    frame = pd.DataFrame({"mrr": [30.4375, 0.0, 60.875], PURCHASES_90D: [90.0, 45.0, np.nan]})
    fees_only = RunRate(60).fit(frame.drop(columns=[PURCHASES_90D])).predict(frame)
    assert fees_only.tolist() == pytest.approx([60.0, 0.0, 120.0])
    with_purchases = RunRate(60).fit(frame).predict(frame)
    # 60 days of fees, plus 60 days of purchases at the last 90 days' pace (none unknown: none)
    assert with_purchases.tolist() == pytest.approx([60.0 + 60.0, 0.0 + 30.0, 120.0])


def test_the_run_rates_reasons_name_the_purchases_when_it_counts_them():
    from segml.models.baselines import PURCHASES_90D

    frame = pd.DataFrame({"mrr": [30.4375, 30.4375, 60.875], PURCHASES_90D: [0.0, 90.0, 0.0]})
    rule = RunRate(90).fit(frame)
    parts = rule.contributions(frame)
    # fees: 90, 90, 180 (mean 120); purchases: 0, 90, 0 (mean 30)
    assert parts["mrr"].tolist() == pytest.approx([-30.0, -30.0, 60.0])
    assert parts[PURCHASES_90D].tolist() == pytest.approx([-30.0, 60.0, -30.0])
    assert parts.sum(axis=1).tolist() == pytest.approx(list(rule.predict(frame) - rule.reference_))
