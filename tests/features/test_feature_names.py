"""Feature names built from user values (categories, channels) stay usable by LightGBM, whatever
the export holds: line breaks inside quoted CSV fields, quotes, commas, brackets, colons, long
text."""

from __future__ import annotations

import csv
import dataclasses

import lightgbm as lgb
import numpy as np
import pandas as pd

from segml.data.raw import read_raw_table
from segml.data.validate import prepare
from segml.features.build import (
    MAX_LEVEL_NAME,
    build_features,
    feature_columns,
    fit_vocabulary,
    level_labels,
    level_names,
)
from segml.features.transactions import index_transactions, to_day

ODD_CATEGORIES = [
    "儿童\n玩具",  # line break inside a quoted CSV field
    "儿童\r\n玩具",  # the same label with a Windows line break: a different level
    'Men\'s "Premium" shoes',  # quotes
    "food, drinks",  # comma
    "[sale] {clearance}",  # brackets and braces
    "家居:厨房",  # colon
    "数码" * 40,  # very long
    "服装",  # plain: unchanged
]
CHANNELS = ["APP", "门店:北京", "官网\t(web)"]


def test_level_names_are_safe_stable_unique_and_plain_names_unchanged():
    names = level_names(ODD_CATEGORIES)
    assert names == level_names(list(ODD_CATEGORIES))  # stable
    assert len(set(names)) == len(names)  # distinct, even labels differing only in line breaks
    assert names[-1] == "服装"
    assert names[3].startswith("food， drinks #")  # readable look-alike plus a hash of the original
    for name in names:
        assert not set(name) & set('"\\,:[]{}') and name.isprintable()
        assert len(name) <= MAX_LEVEL_NAME + 8
    assert level_names(["a,b", "a，b"]) != [
        "a，b",
        "a，b",
    ]  # a look-alike clash still stays distinct


def test_odd_categories_from_a_quoted_csv_train_a_lightgbm_model(tmp_path, cfg):
    rng = np.random.default_rng(7)
    path = tmp_path / "transactions.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["客户编号", "交易时间", "金额", "品类", "渠道"])
        for customer in range(120):
            for purchase in range(int(rng.integers(1, 6))):
                day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 180)))
                category = ODD_CATEGORIES[rng.integers(len(ODD_CATEGORIES))]
                writer.writerow(
                    [
                        f"{customer:04d}",
                        f"{day:%Y-%m-%d} 10:00",
                        f"{rng.uniform(5, 500):.2f}",
                        category,
                        CHANNELS[rng.integers(3)],
                    ]
                )
    headers = {
        "customer_id": "客户编号",
        "ts": "交易时间",
        "amount": "金额",
        "category": "品类",
        "channel": "渠道",
    }
    data = dataclasses.replace(cfg.data, columns=headers)
    raw = read_raw_table(path, config_key="paths.raw_transactions", **data.read_options())
    clean = prepare(raw, None, data).transactions
    assert set(clean["category"]) == set(ODD_CATEGORIES)  # the CSV kept every odd label intact

    fcfg = dataclasses.replace(
        cfg.features,
        use_bgnbd=False,
        use_attributes=False,
        windows_days=[30, 90],
        top_categories=len(ODD_CATEGORIES),
        top_channels=3,
    )
    idx = index_transactions(clean)
    vocab = fit_vocabulary(idx, fcfg)
    frame = build_features(idx, [to_day("2024-06-30")], fcfg, vocab)
    columns = feature_columns(frame)
    assert [c for c in columns if c.startswith("category_share__")] == [
        f"category_share__{n}" for n in level_names(vocab.categories)
    ]
    assert len(vocab.categories) == len(ODD_CATEGORIES)
    labels = level_labels(vocab)  # the original text, for display
    assert sorted(labels[c] for c in columns if c.startswith("category_share__")) == sorted(
        ODD_CATEGORIES
    )
    assert sorted(labels[c] for c in columns if c.startswith("channel_share__")) == sorted(CHANNELS)

    X = frame[columns]
    y = (X["spend_90d"] > X["spend_90d"].median()).astype(int)
    model = lgb.LGBMClassifier(n_estimators=5, min_child_samples=5, verbose=-1).fit(X, y)
    assert len(model.booster_.feature_name()) == len(columns)
    assert model.predict_proba(X).shape == (len(X), 2)
