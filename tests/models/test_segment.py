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
