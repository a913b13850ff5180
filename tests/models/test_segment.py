"""The segmenter learns from a sample of a large snapshot and still assigns everyone alike."""

from __future__ import annotations

import dataclasses
import pickle

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from segml.models.segment import segment_columns, segment_customers
from tests.conftest import demo_snapshot


def test_fit_on_a_sample_assigns_everyone_like_a_full_fit(cfg):
    snapshot = demo_snapshot(cfg, 3000, seed=11)
    fixed_k = dataclasses.replace(cfg.segment, k=5, stability_seeds=0)
    _, full, _, full_metrics = segment_customers(snapshot, fixed_k, cfg.seed)
    sampled_cfg = dataclasses.replace(fixed_k, fit_sample=1000)
    _, sampled, profile, metrics = segment_customers(snapshot, sampled_cfg, cfg.seed)
    assert full_metrics["fit_customers"] == len(snapshot) and metrics["fit_customers"] == 1000
    assert sampled["customer_id"].tolist() == full["customer_id"].tolist()
    assert profile["customers"].sum() == len(snapshot)
    agreement = adjusted_rand_score(full["segment"], sampled["segment"])
    print(f"sample-fit vs full-fit ARI = {agreement:.3f}")
    assert agreement > 0.7


def test_the_stage_columns_alone_give_the_same_segments(cfg):
    """The segment stage reads only `segment_columns` of the snapshot: the same segmenter,
    assignments, profile and metrics as from every column."""
    snapshot = demo_snapshot(cfg, 1200, seed=3)
    everything = segment_customers(snapshot, cfg.segment, cfg.seed)
    few = segment_customers(snapshot[segment_columns(cfg.segment)], cfg.segment, cfg.seed)
    assert len(segment_columns(cfg.segment)) < len(snapshot.columns) / 4
    assert pickle.dumps(few[0]) == pickle.dumps(everything[0])
    pd.testing.assert_frame_equal(few[1], everything[1])
    pd.testing.assert_frame_equal(few[2], everything[2])
    assert few[3] == everything[3]


def test_typed_attributes_are_profiled_per_segment_and_said_in_their_words(cfg):
    """A number's (and a date's days') mean, a yes/no's share of yes, per segment by hand; the
    report heads them with the attributes' words."""
    from segml.models.segment import profile
    from segml.reporting.model_quality import segments_section
    from segml.reporting.text import Words

    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "recency_days": [1.0, 3.0, 10.0, 20.0],
            "attr_company_size": [10.0, 30.0, 100.0, float("nan")],
            "attr_is_business": [1.0, 0.0, 1.0, 1.0],
        }
    )
    assigned = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "segment": [0, 0, 1, 1],
            "persona": ["x", "x", "y", "y"],
            "persona_en": ["X", "X", "Y", "Y"],
            "persona_zh": ["甲", "甲", "乙", "乙"],
        }
    )
    attributes = {"attr_company_size": "mean", "attr_is_business": "share", "attr_gone": "mean"}
    out = profile(frame, assigned, ["recency_days"], attributes)
    assert out["mean_attr_company_size"].tolist() == [20.0, 100.0]  # a gap is left out
    assert out["share_attr_is_business"].tolist() == [0.5, 1.0]
    assert "mean_attr_gone" not in out  # not in the snapshot: not profiled
    names = {
        "attr_company_size": {"en": "Employees", "zh": "员工人数"},
        "attr_is_business": {"en": "Business account", "zh": "企业客户"},
    }
    html = segments_section(out, Words(dataclasses.replace(cfg.export, language="en")), names)
    assert "Employees (mean)" in html and "Business account (share yes)" in html
    assert "attr_" not in html
    html = segments_section(out, Words(dataclasses.replace(cfg.export, language="zh")), names)
    assert "员工人数（均值）" in html and "企业客户（是的占比）" in html


def test_subscriber_segments_get_plain_persona_names(cfg):
    """Three hand-made groups of subscribers, clear on fee, tenure, payments and contract: each
    gets the configured subscriber persona its profile fits, never a number ("Group 5")."""
    import numpy as np

    from segml.models.segment import Segmenter

    rng = np.random.default_rng(0)
    groups = {  # mrr, tenure_days, failed_payments_180d, contract_months, n_products
        "premium": (300.0, 2000.0, 0.0, 24.0, 3.0),
        "payment_trouble": (60.0, 400.0, 4.0, 0.0, 1.0),
        "joiners": (80.0, 20.0, 0.0, 12.0, 1.0),
    }
    rows = []
    for i, (fee, tenure, failed, contract, products) in enumerate(groups.values()):
        for j in range(40):
            rows.append(
                {
                    "customer_id": f"{i}-{j}",
                    "mrr": fee * rng.uniform(0.95, 1.05),
                    "tenure_days": tenure * rng.uniform(0.9, 1.1),
                    "failed_payments_180d": failed,
                    "contract_months": contract,
                    "n_products": products,
                }
            )
    frame = pd.DataFrame(rows)
    features = ["mrr", "tenure_days", "n_products", "failed_payments_180d", "contract_months"]
    personas = dict(cfg.segment.subscriber_personas)
    fitted = Segmenter(features, k=3, n_init=2, personas=personas).fit(frame)
    assigned = fitted.assign(frame).assign(group=[r["customer_id"][0] for r in rows])
    named = assigned.groupby("group")["persona"].agg(lambda p: p.mode()[0]).tolist()
    assert named == list(groups)
    english = set(assigned["persona_en"])
    assert english == {personas[k]["en"] for k in groups}
    assert not any(name.startswith("Group") or "_" in name for name in english)
    # more clusters than personas: the rest are named by their number, in words
    few = Segmenter(features, k=3, n_init=2, personas={"premium": personas["premium"]}).fit(frame)
    names = sorted(name for _, name, _ in few.cluster_names_.values())
    assert names[-1] == "Premium long-standing"
    assert [n.split()[0] for n in names[:2]] == ["Group", "Group"], (
        names
    )  # "Group 2", not segment_1
