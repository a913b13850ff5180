"""The tier stage per partition of customers (engine: dask) writes the one-process tier table,
split into files by customer-id range: the same rows, columns, types and values."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from segml.app.engine import InProcess
from segml.data import io
from segml.models.scorers import ChurnModel, RuleScorer
from segml.models.segment import segment_customers
from segml.tiering.partitioned import Models, score_partitioned
from segml.tiering.periods import Period
from segml.tiering.scoring import score_customers
from tests.conftest import demo_snapshot

PARTITIONS = 4
LAST = Period("last-run", "2025-11-30")


class NoEmptyInput(RuleScorer):
    """A rule that, like LightGBM, refuses to explain no rows at all."""

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            raise ValueError("Input data must be 2 dimensional and non empty.")
        return super().contributions(frame)


@pytest.fixture(scope="module")
def setting(cfg, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tier_parts")
    snapshot = demo_snapshot(cfg, 500, seed=5)
    # a LightGBM churn model: above the exact limit its reasons are estimated from a sample that
    # the partitions gather between them
    labelled = snapshot.assign(churned=(snapshot["recency_days"] > 120).astype(int))
    churn = ChurnModel(
        {"num_leaves": 7, "min_child_samples": 10},
        n_estimators=30,
        early_stopping_rounds=5,
        calibration="none",
    ).fit(labelled)
    upside = NoEmptyInput("spend_90d", "baseline_last_period", calibrate=False).fit(snapshot)
    segmenter = segment_customers(snapshot, cfg.segment, cfg.seed)[0]
    models = Models(folder / "segmenter.pkl", folder / "churn.pkl", folder / "upside.pkl")
    for model, path in zip(
        (segmenter, churn, upside), (models.segmenter, models.churn, models.upside)
    ):
        io.save_pickle(model, path)
    # the snapshot as features writes it: in id order; small row groups, so partitions skip some
    path = folder / "snapshot.parquet"
    snapshot.sample(frac=1, random_state=0).sort_values("customer_id").to_parquet(
        path, index=False, row_group_size=64
    )
    ids = sorted(snapshot["customer_id"])
    # customers without a purchase before the first buyer, just after the last buyer of the
    # first and second id ranges, and after the last buyer; the third range gets none
    no_purchase = pd.DataFrame(
        {
            "customer_id": ["", ids[0] + "-a", ids[124] + "-x", ids[249] + "-y", ids[-1] + "-z"],
            "status": ["never_bought", "all_rows_rejected", "only_refunds", *["never_bought"] * 2],
            "reject_reasons": ["", "zero amount × 2", "refund × 1", None, ""],
        }
    )
    return folder, snapshot, (segmenter, churn, upside), models, path, no_purchase


def _previous(table: pd.DataFrame) -> pd.DataFrame:
    """Last period's table: a few customers gone, the others in other customers' grades."""
    grades = ["tier_abc", "tier_pyramid", "vp_cell"]
    return table.iloc[10:].assign(**{c: np.roll(table[c].iloc[10:].to_numpy(), 7) for c in grades})


@pytest.mark.parametrize(
    ("with_previous", "explain", "everyone"),
    # exact drivers for some customers, estimated for the others from a sample of 50; reasons
    # for everyone, or (above `everyone_up_to`) for those a team contacts and the exact ones;
    # with 1, at most 2 customers are explained exactly, so some partitions explain nobody
    [(False, 40, 100), (True, 40, 1000), (False, 1, 100)],
)
def test_partitions_write_the_one_process_table(cfg, setting, with_previous, explain, everyone):
    folder, snapshot, (segmenter, churn, upside), models, path, no_purchase = setting
    reasons = {
        **cfg.tiering.reasons,
        "max_customers": explain,
        "everyone_up_to": everyone,
        "sample_customers": 50,
    }
    tiering = dataclasses.replace(cfg.tiering, reasons=reasons)
    first = score_customers(
        snapshot, segmenter, churn, upside, tiering, 90, None, None, no_purchase
    )
    previous = _previous(first.table.dropna(subset=["tier"])) if with_previous else None
    whole = score_customers(
        snapshot, segmenter, churn, upside, tiering, 90, previous, LAST, no_purchase
    )
    out = folder / f"tiers-{with_previous}-{explain}.parquet"
    parted = score_partitioned(
        InProcess(), path, models, tiering, 90, PARTITIONS, out, previous, LAST, no_purchase
    )

    files = io.part_files(out)
    assert [pq.read_metadata(f).num_rows for f in files] == [128, 126, 125, 126]
    # every file has the same schema, so any reader gets one table
    assert len({pq.read_schema(f).remove_metadata() for f in files}) == 1
    io.write_parquet(whole.table, folder / "whole.parquet")
    expected = pd.read_parquet(folder / "whole.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(out), expected)
    assert len(expected) == len(snapshot) + len(no_purchase)

    buyers = expected.dropna(subset=["tier"])
    skipped = buyers["churn_reasons_en"] == tiering.reasons["not_computed"]["en"]
    contacted = (buyers["lifecycle_status"] == "at_risk") | (buyers["tier"] == "A")
    if everyone > len(buyers):
        assert not skipped.any()
    else:  # everyone a team calls or meets has reasons; some others do not
        assert not skipped[contacted].any() and skipped[~contacted].any()
    assert (buyers.loc[~skipped, "churn_reasons_en"].str.len() > 0).mean() > 0.9
    assert parted.metrics == whole.metrics
    pd.testing.assert_frame_equal(parted.summary, whole.summary)
    assert parted.movement["available"] is with_previous
    if with_previous:
        assert {"up", "down", "same"} <= set(expected["tier_change"].dropna())
        for part in ("matrix", "upgrades", "downgrades", "new", "gone"):
            pd.testing.assert_frame_equal(parted.movement[part], whole.movement[part])
