"""Behavioural tests on really trained models: direction, invariance, and recovery of the
generator's hidden truth (Made-With-ML style); the backtest, the refit and the champion challenge
on them (one trained fixture for all, as training is the slow part)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from segml.data.generate import generate
from segml.data.validate import prepare
from segml.errors import FeatureMismatchError
from segml.features.build import with_vocabulary_levels
from segml.features.datasets import build_datasets, build_snapshot
from segml.features.transactions import index_transactions, to_date
from segml.models import evaluation as ev
from segml.models.promotion import Champion, challenge, fair_cutoffs
from segml.models.sampling import read_training_rows, sample_per_cutoff, validation_rows
from segml.models.scorers import ChurnModel, RuleScorer, UpsideModel, score
from segml.models.segment import segment_customers
from segml.models.training import train_models

# not a unit test: it trains the real models on 5,000 generated customers (make test runs it)
pytestmark = pytest.mark.slow


def clean_demo(cfg, n: int, seed: int):
    demo = generate(n, seed=seed)
    identity = dataclasses.replace(
        cfg.data,
        columns={k: k for k in cfg.data.columns},
        customer_columns={k: k for k in cfg.data.customer_columns},
    )
    prepared = prepare(demo.transactions.astype(str), demo.customers.astype("string"), identity)
    return prepared, demo.ground_truth


@pytest.fixture(scope="module")
def trained(cfg):
    prepared, truth = clean_demo(cfg, 5000, seed=11)
    data = build_datasets(
        index_transactions(prepared.transactions, prepared.customers),
        cfg.features,
        cfg.labels,
        None,
    )
    models = train_models(
        data.labelled, data.schedule, cfg.churn, cfg.upside, cfg.seed, data.vocabulary
    )
    return prepared, truth, data, models


def newest_fold(data):
    return data.at([data.schedule.folds[-1]])


def test_churn_model_beats_recency_rule_in_every_backtest_fold(trained):
    *_, data, models = trained
    churn = models.metrics["churn"]
    assert len(churn["folds"]) == 3
    for fold in churn["folds"].values():
        assert fold["model"]["roc_auc"] > fold["baseline_recency"]["roc_auc"]
        assert fold["model"]["brier"] < fold["baseline_recency"]["brier"]
    assert churn["summary"]["grade"] in ("A", "B") and churn["production"]["scorer"] == "model"
    # the means are the folds' means, the spread their standard deviation
    aucs = [f["model"]["roc_auc"] for f in churn["folds"].values()]
    assert churn["model"]["roc_auc"] == pytest.approx(np.mean(aucs))
    assert churn["spread"]["model"]["roc_auc"] == pytest.approx(np.std(aucs, ddof=1))


def test_production_models_are_refit_on_the_newest_labelled_cutoffs(trained):
    *_, data, models = trained
    production = models.metrics["churn"]["production"]
    newest = max(production["training_cutoffs"])
    # the newest label window ends at as_of: the refit sees the labelled days the folds never trained on
    assert pd.Timestamp(newest) + pd.Timedelta(days=90) == pd.Timestamp(data.summary["as_of"])
    assert newest not in data.summary["fold_training_cutoffs"][data.summary["backtest_folds"][-1]]
    assert models.churn.best_iteration_ == production["n_estimators"] > 0
    # what they predict travels with them: the record's churn window (a registered set's own)
    assert models.churn.horizon_days_ == models.upside.horizon_days_ == data.schedule.horizon_days


def test_more_recent_purchase_never_raises_churn_risk(trained):
    _, _, data, models = trained
    rows = newest_fold(data).sample(500, random_state=0)
    later = rows.assign(
        recency_days=rows["recency_days"] + 45, recency_gap_ratio=rows["recency_gap_ratio"] * 2
    )
    assert (models.churn.predict_proba(later) >= models.churn.predict_proba(rows) - 1e-12).all()


def test_more_past_spend_never_lowers_predicted_value(trained):
    _, _, data, models = trained
    rows = newest_fold(data).sample(500, random_state=1)
    spend = [
        c
        for c in rows
        if c in ("monetary_total", "gross_spend")
        or (c.startswith("spend_") and c.endswith("d") and "trend" not in c)
    ]
    richer = rows.assign(**{c: rows[c].abs() * 1.5 + 10 for c in spend})
    base = rows.assign(**{c: rows[c].abs() for c in spend})
    assert (models.upside.predict(richer) >= models.upside.predict(base) - 1e-9).all()


def test_row_and_id_order_change_nothing(cfg, trained):
    prepared, _, data, models = trained
    shuffled = prepared.transactions.sample(frac=1.0, random_state=5).reset_index(drop=True)
    again = build_datasets(
        index_transactions(shuffled, prepared.customers.iloc[::-1]), cfg.features, cfg.labels, None
    )
    pd.testing.assert_frame_equal(again.snapshot, data.snapshot)
    reversed_rows = data.snapshot.iloc[::-1]
    np.testing.assert_allclose(
        models.churn.predict_proba(reversed_rows)[::-1], models.churn.predict_proba(data.snapshot)
    )


def test_stage_snapshot_is_what_score_builds(cfg, trained):
    """The stage builds the snapshot in the same pass as the training cutoffs; `segml score`
    builds it alone. Exact money sums make the two identical, so scores match the pipeline."""
    prepared, _, data, _ = trained
    alone = build_snapshot(
        prepared.transactions,
        prepared.customers,
        cfg.features,
        data.vocabulary,
        None,
        cfg.labels.horizon_days,
    )
    pd.testing.assert_frame_equal(alone, data.snapshot, check_exact=True)


def test_churn_risk_recovers_hidden_stop_dates(trained):
    _, truth, data, models = trained
    snap = data.snapshot.merge(truth, on="customer_id")
    active = snap[snap["recency_days"] <= 365]
    stopped = (active["stop_date"] <= active["cutoff"]).to_numpy()
    auc = roc_auc_score(stopped, models.churn.predict_proba(active))
    print(f"churn probability vs hidden 'has stopped' AUC = {auc:.3f}")
    assert auc > 0.8


def test_segments_relate_to_hidden_personas(cfg, trained):
    _, truth, data, _ = trained
    _, assigned, profile, metrics = segment_customers(data.snapshot, cfg.segment, cfg.seed)
    joined = assigned.merge(truth.rename(columns={"persona": "hidden_persona"}), on="customer_id")
    ari = adjusted_rand_score(joined["hidden_persona"], joined["segment"])
    print(
        f"segments vs hidden personas ARI = {ari:.3f}; stability ARI = {metrics['stability_ari']:.3f}"
    )
    assert ari > 0.05
    assert metrics["stability_ari"] > 0.5
    assert profile["customers"].sum() == len(data.snapshot)
    assert assigned["persona"].nunique() == metrics["k"]  # every cluster got its own name


def test_model_refuses_data_without_its_columns(trained):
    _, _, data, models = trained
    with pytest.raises(FeatureMismatchError, match="spend_365d"):
        models.churn.predict_proba(newest_fold(data).drop(columns=["spend_365d"]))


def test_scorer_can_be_forced(cfg, trained):
    *_, data, _ = trained
    few = data.labelled[data.labelled["customer_id"].isin(data.snapshot["customer_id"].iloc[:1500])]
    forced = dataclasses.replace(cfg.upside, scorer="baseline")
    churn = dataclasses.replace(cfg.churn, n_estimators=20)  # only the value scorer is looked at
    models = train_models(few, data.schedule, churn, forced, cfg.seed, data.vocabulary)
    production = models.metrics["upside"]["production"]
    assert production["scorer"] == models.metrics["upside"]["summary"]["best_baseline"]
    assert "upside.scorer=baseline" in production["scorer_reason_en"]
    assert (models.upside.predict(data.snapshot) >= 0).all()


def _day(value) -> str:
    return str(pd.Timestamp(value).date())


def test_the_champion_is_challenged_only_on_folds_neither_set_learnt_from(cfg, trained):
    """The champion learnt from labels up to its as_of: only this run's folds starting on or after
    it are fair. Without one the champion is kept and the reason says so, with the dates."""
    *_, data, models = trained
    as_of = _day(data.summary["as_of"])
    folds = [_day(to_date(d)) for d in data.schedule.folds]
    mine = {"churn": models.churn, "upside": models.upside}
    wins, why = challenge(None, None, None, data.schedule, models.metrics, as_of)
    assert wins and why == "no champion yet"
    wins, why = challenge(
        Champion(mine, folds[0], 60), None, None, data.schedule, models.metrics, as_of
    )
    assert not wins and "60 days" in why
    # the champion's labels end after every fold: nothing fair to compare on (its own models,
    # which have learnt these folds' outcomes, would look better than they are)
    assert fair_cutoffs(models.metrics, as_of) == []
    wins, why = challenge(
        Champion(mine, as_of, 90), None, None, data.schedule, models.metrics, as_of
    )
    assert not wins and why.startswith(
        f"no fair comparison yet (the champion learnt from labels up to {as_of}"
    )
    assert f"newest backtest fold starts {folds[-1]}" in why


def test_a_weaker_champion_is_replaced_by_the_default_set(cfg, trained):
    """A champion of far fewer rounds and features, trained on labels up to the second fold, loses
    on the two folds after it, where neither set has seen the outcome."""
    *_, data, models = trained
    champion_as_of = _day(to_date(data.schedule.folds[1]))
    fair = fair_cutoffs(models.metrics, champion_as_of)
    assert [_day(c) for c in fair] == [_day(to_date(d)) for d in data.schedule.folds[1:]]
    seen = data.labelled[
        data.labelled["cutoff"] + pd.Timedelta(days=90) <= pd.Timestamp(champion_as_of)
    ]
    few = ["customer_id", "cutoff", "churned", "future_value", "frequency", "tenure_days"]
    small = {"n_estimators": 3, "early_stopping_rounds": None}
    weak = {
        "churn": ChurnModel(dict(cfg.churn.params), calibration="platt", **small).fit(seen[few]),
        "upside": UpsideModel(dict(cfg.upside.params), **small).fit(seen[few]),
    }
    as_of = _day(data.summary["as_of"])
    wins, why = challenge(
        Champion(weak, champion_as_of, 90),
        data.labelled,
        models.fold_scores,
        data.schedule,
        models.metrics,
        as_of,
    )
    assert wins and why.startswith("beats the champion by more than the noise on 2 fold(s)"), why
    churn = re.search(
        r"churn ROC AUC ([0-9.]+) vs champion ([0-9.]+) \(([-+0-9.]+) ± ([0-9.]+)\)", why
    )
    assert churn and float(churn[3]) > float(churn[4]) > 0


def test_two_equal_sets_do_not_take_turns(trained):
    """Equal within the noise: the fresher set wins once; the older one never takes it back, and
    of two sets of the same date the champion stays."""
    *_, data, models = trained
    mine = {"churn": models.churn, "upside": models.upside}
    champion_as_of = _day(to_date(data.schedule.folds[0]))
    fair = fair_cutoffs(models.metrics, champion_as_of)
    # a challenger scoring the fair folds exactly as the champion does: the same set
    rows = []
    for target in ("churn", "upside"):
        for cutoff in fair:
            fold = models.fold_scores.query("target == @target and cutoff == @cutoff")
            valid = data.labelled[data.labelled["cutoff"] == cutoff]
            valid = valid.set_index("customer_id").loc[fold["customer_id"]].reset_index()
            rows.append(fold.assign(score=np.asarray(score(mine[target], valid), dtype=float)))
    same = pd.concat(rows, ignore_index=True)
    args = (data.labelled, same, data.schedule, models.metrics)
    later = _day(data.summary["as_of"])
    wins, why = challenge(Champion(mine, champion_as_of, 90), *args, later)
    assert wins and why.startswith("as good as the champion within the noise and fresher")
    assert "+0.000 ± 0.000" in why
    # the same comparison for a set no fresher than the champion: it stays
    wins, why = challenge(Champion(mine, champion_as_of, 90), *args, champion_as_of)
    assert not wins and "not fresher" in why
    # and the older set, challenging the fresher champion, has no fold after the champion's labels
    wins, why = challenge(Champion(mine, later, 90), *args, champion_as_of)
    assert not wins and why.startswith("no fair comparison yet")


def test_big_folds_are_measured_on_the_same_customers_in_train_and_in_the_challenge(cfg, trained):
    """With `max_validation_rows`, each fold is measured on that many customers, those whose id
    hashes lowest whatever the row order; the champion challenge re-scores exactly those."""
    *_, data, _ = trained
    fold = data.at([data.schedule.folds[-1]])
    picked = validation_rows(fold, 500)
    assert len(picked) == 500 and picked["customer_id"].is_unique
    shuffled = fold.sample(frac=1.0, random_state=0).reset_index(drop=True)
    assert set(validation_rows(shuffled, 500)["customer_id"]) == set(picked["customer_id"])
    assert picked["customer_id"].tolist() == [
        c for c in fold["customer_id"] if c in set(picked["customer_id"])
    ]
    assert validation_rows(fold, None) is fold and validation_rows(fold, len(fold)) is fold

    # few rounds: what is measured is which customers each fold scores, not the models
    capped = {
        t: dataclasses.replace(getattr(cfg, t), max_validation_rows=500, n_estimators=20)
        for t in ("churn", "upside")
    }
    models = train_models(
        data.labelled, data.schedule, capped["churn"], capped["upside"], cfg.seed, data.vocabulary
    )
    folds = models.metrics["upside"]["folds"]
    feature = "spend_90d"  # last period's spend: the value baseline, scored as it is
    rule = RuleScorer(feature, "baseline_last_period", calibrate=False).fit(data.labelled)
    for f in folds.values():
        day = data.labelled[data.labelled["cutoff"] == pd.Timestamp(f["cutoff"])]
        rows = validation_rows(day.reset_index(drop=True), 500)
        assert f["valid_rows"] == 500
        assert f["baseline_last_period"]["normalized_gini"] == ev.normalized_gini(
            rows["future_value"].clip(lower=0), rule.predict(rows)
        )
    # a champion scoring value by that baseline gets exactly its fold results on the fair folds
    champion = Champion({"churn": models.churn, "upside": rule}, "2000-01-01", 90)
    _, why = challenge(
        champion,
        data.labelled,
        models.fold_scores,
        data.schedule,
        models.metrics,
        _day(data.summary["as_of"]),
    )
    expected = np.mean([f["baseline_last_period"]["normalized_gini"] for f in folds.values()])
    assert f"vs champion {expected:.3f}" in why.split("; ")[1]


def test_training_rows_read_cutoff_by_cutoff_train_the_same_models(cfg, trained, tmp_path):
    """The train stage reads one cutoff at a time and draws the pools as it goes: the pools equal
    `sample_per_cutoff` on the whole table, and the models and backtest are the same."""
    *_, data, _ = trained
    # sampling on; few rounds and 1,500 of the customers, as only sameness is measured
    churn = dataclasses.replace(cfg.churn, max_rows_per_cutoff=300, n_estimators=10)
    upside = dataclasses.replace(cfg.upside, max_rows_per_cutoff=400, n_estimators=10)
    few = data.snapshot["customer_id"].iloc[:1500]
    path = tmp_path / "labelled.parquet"
    subset = data.labelled[data.labelled["customer_id"].isin(few)].reset_index(drop=True)
    subset.to_parquet(path, row_group_size=700)  # cutoffs straddle row groups

    def read(when):
        rows = pd.read_parquet(path, filters=[("cutoff", "==", when)])
        return with_vocabulary_levels(rows, data.vocabulary)

    labelled, pools = read_training_rows(read, data.schedule, churn, upside, cfg.seed)
    whole = pd.read_parquet(path)  # what the stage read before: the whole table
    assert len(pools["churn"]) < len(whole) and len(pools["upside"]) != len(pools["churn"])
    for name, max_rows, y in (
        ("churn", 300, whole["churned"].to_numpy()),
        ("upside", 400, whole["future_value"].to_numpy()),
    ):
        pd.testing.assert_frame_equal(
            pools[name], sample_per_cutoff(whole, max_rows, y > 0, cfg.seed)
        )
    in_folds = whole["cutoff"].isin([to_date(d) for d in data.schedule.folds])
    assert in_folds.any()
    pd.testing.assert_frame_equal(
        labelled[labelled["cutoff"].isin(whole["cutoff"][in_folds].unique())].reset_index(
            drop=True
        ),
        whole[in_folds].reset_index(drop=True),
    )

    streamed = train_models(
        labelled, data.schedule, churn, upside, cfg.seed, data.vocabulary, pools
    )
    in_memory = train_models(whole, data.schedule, churn, upside, cfg.seed, data.vocabulary)
    assert streamed.metrics == in_memory.metrics
    snapshot = data.snapshot
    assert np.array_equal(
        streamed.churn.predict_proba(snapshot), in_memory.churn.predict_proba(snapshot)
    )
