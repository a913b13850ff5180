"""The subscription demo: deterministic, shaped like real subscribers, messy like real exports; and
prepare on it gives back exactly the generator's clean tables, every injected fault under its
reason, and rejected = read - clean in every table."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from segml.app.params import compose
from segml.config import to_typed
from segml.data import schema as s
from segml.data.generate_subscriptions import generate
from segml.data.subscription_export import export_tables, headers, with_headers
from segml.data.subscription_rows import SUBSCRIPTION_REASONS
from segml.data.subscriptions import SubscriptionExport, prepare_subscriptions
from tests.conftest import ROOT

TABLES = ("subscriptions", "payments", "usage", "customers")


@pytest.fixture(scope="module")
def data_cfg():
    return to_typed(compose(["data=subscription_demo"], conf_dir=ROOT / "conf")).data


@pytest.fixture(scope="module")
def run(data_cfg):
    demo = generate(1500, seed=21)
    export = with_headers(export_tables(demo, 21), data_cfg)
    prepared = prepare_subscriptions(SubscriptionExport(**export), data_cfg)
    return demo, export, prepared


def digest(frames) -> str:
    h = hashlib.sha256()
    for frame in frames:
        h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def test_same_seed_same_data_other_seed_other_data():
    one, again, other = generate(300, seed=5), generate(300, seed=5), generate(300, seed=6)

    def tables(d):
        return [d.subscriptions, d.payments, d.usage, d.customers, d.truth, d.episodes]

    assert digest(tables(one)) == digest(tables(again))
    assert digest(export_tables(one, 5).values()) == digest(export_tables(again, 5).values())
    assert digest(tables(one)) != digest(tables(other))


def test_the_demo_has_contracts_trials_upgrades_win_backs_and_left_truncation(run):
    demo, _, _ = run
    spells = demo.subscriptions
    assert set(spells[s.CONTRACT_MONTHS]) == {0, 12, 24}
    assert set(spells[s.BILLING_MONTHS]) == {1, 12}
    assert (spells[s.START] < pd.Timestamp("2023-01-01")).mean() > 0.1  # before the export
    assert spells[s.IS_TRIAL].sum() > 0
    assert (demo.truth["winbacks"] > 0).mean() > 0.02
    assert spells.groupby(s.SUBSCRIPTION_ID)[s.PLAN].nunique().gt(1).sum() > 20  # plan changes
    kinds = demo.truth["last_kind"].value_counts(normalize=True)
    # most departures are voluntary; payment-led (involuntary) ones are a minority
    assert 0.1 < kinds["involuntary"] < 0.4 and kinds["voluntary"] > 0.35
    assert set(demo.payments[s.OUTCOME]) == {"paid", "failed", "late"}
    assert set(demo.usage[s.KIND]) == {"流量GB", "通话分钟"}
    prospects = demo.customers[demo.customers[s.CUSTOMER_ID].str.startswith("P")]
    assert len(prospects) == 30 and not set(prospects[s.CUSTOMER_ID]) & set(spells[s.CUSTOMER_ID])


def test_the_export_is_messy_the_same_ways_under_the_configured_headers(run, data_cfg):
    _, export, _ = run
    subs = export["subscriptions"]
    assert list(subs.columns) == list(headers(data_cfg)["subscriptions"].values())
    assert subs["费用"].str.startswith("¥").any() and subs["费用"].str.contains(",").any()
    assert (subs["客户编号"] == "").any() and subs.duplicated().any()
    assert subs["开始日期"].isin(["2024-02-30", "未知", "31/13/2024"]).any()
    assert subs["开始日期"].str.contains("/").any()  # 2024/5/1 beside 2024-05-01
    assert (subs["计费周期"] == "双月").any()  # a word no config maps
    assert export["payments"]["结果"].isin(["处理中"]).any()
    assert export["customers"]["员工人数"].str.startswith("约").any()
    assert export["customers"]["客户编号"].str.match(r"^\d{7}$").mean() > 0.95  # leading zeros


def test_good_rows_come_back_as_the_generator_made_them(run):
    demo, _, p = run
    key = [s.CUSTOMER_ID, s.SUBSCRIPTION_ID, s.START]
    merged = p.subscriptions.merge(demo.subscriptions, on=key, suffixes=("", "_truth"))
    assert len(merged) == len(p.subscriptions) >= 0.99 * len(demo.subscriptions)
    assert np.allclose(merged[s.AMOUNT], merged[f"{s.AMOUNT}_truth"])
    for column in (s.CONTRACT_MONTHS, s.BILLING_MONTHS, s.IS_TRIAL, s.PLAN):
        assert (merged[column] == merged[f"{column}_truth"]).all(), column
    ends, truth = merged[s.END], merged[f"{s.END}_truth"]
    assert ((ends == truth) | (ends.isna() & truth.isna())).all()
    assert (p.subscriptions[s.CUSTOMER_ID].str.len() == 7).all()  # leading zeros kept
    for name in ("payments", "usage"):
        clean, made = getattr(p, name), getattr(demo, name)
        columns = list(made.columns)
        both = clean[columns].merge(made.drop_duplicates(), on=columns, how="left", indicator=True)
        assert (both["_merge"] == "both").all(), name  # every kept row is one the generator made
        assert len(clean) >= 0.99 * len(made), name


def test_every_injected_fault_lands_under_its_reason(run):
    _, export, p = run
    r = p.rejected
    expected = {
        "subscriptions": {
            "missing_customer_id",
            "bad_start",
            "ends_before_start",
            "unknown_period",
            "absurd_amount",
            "duplicate",
            "future",
        },
        "payments": {
            "missing_customer_id",
            "bad_timestamp",
            "unknown_outcome",
            "future",
            "duplicate",
        },
        "usage": {"missing_customer_id", "bad_quantity", "bad_timestamp", "duplicate"},
    }
    for table, keys in expected.items():
        found = set(r.loc[r[s.SOURCE_FILE] == table, s.REJECT_REASON])
        assert {SUBSCRIPTION_REASONS[k] for k in keys} <= found, table
        assert set(p.quality[table]["rejected_by_reason"]) == keys, table
    # the row number points at the user's row
    row = r[r[s.SOURCE_FILE] == "subscriptions"].iloc[0]
    assert export["subscriptions"].iloc[row[s.SOURCE_ROW] - 1]["订阅编号"] == row["订阅编号"]


def test_rejected_is_read_minus_clean_in_every_table(run):
    _, export, p = run
    q = p.quality
    for table in TABLES:
        t = q[table]
        assert t["rows_read"] == len(export[table]), table
        assert t["rows_read"] - t["rows_clean"] == t["rows_rejected"], table  # no skipped rows
        assert t["rows_rejected"] == (p.rejected[s.SOURCE_FILE] == table).sum(), table
    assert q["rows_read"] - q["rows_clean"] == len(p.rejected) == q["rows_rejected"]
    assert q["export_end"] == "2025-12-31"
    assert q["subscriptions"]["status_disagrees_with_dates"] > 0  # 已取消 with no end date
    assert 0 < q["subscriptions"]["running_share"] < 1


def test_prospects_are_never_subscribed(run):
    _, export, p = run
    listed = p.no_purchase.set_index(s.CUSTOMER_ID)["status"]
    prospects = {c for c in export["customers"]["客户编号"] if c.startswith("P")}
    assert len(prospects) > 20
    assert set(listed[listed == "never_subscribed"].index) == prospects
    assert p.quality["customers_without_subscription"]["never_subscribed"] == len(prospects)
