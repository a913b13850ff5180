"""Subscribers' words (data.kind: subscriptions): what the report and the workbook say instead of
purchase words ("buy", "spend", "next purchase") when the value is recurring fees.

`SUBSCRIBER_TEXT` holds the report sentences that differ, under the key `text.TEXT` uses for
purchases (`text.Words(cfg, recurring=True)` picks them); `subscriber_headers` puts
`export.headers`' `<key>_recurring` entries in place of `<key>`, so the workbook and the report
name scorers and measures in fees. A transaction export reads neither.
"""

from __future__ import annotations

import dataclasses

from segml.config import ExportConfig
from segml.data.subscription_rows import SUBSCRIPTION_REASONS_ZH

RECURRING_SUFFIX = "_recurring"

SUBSCRIBER_TEXT = {
    "moved_up_spend": {
        "en": "fees billed in the last 12 months rose from {before} to {now}",
        "zh": "近12个月月费收入由{before}升至{now}",
    },
    "moved_down_spend": {
        "en": "fees billed in the last 12 months fell from {before} to {now}",
        "zh": "近12个月月费收入由{before}降至{now}",
    },
    "moved_boundaries": {
        "en": "about the same fees; the tier boundaries moved (other subscribers' fees changed)",
        "zh": "月费收入基本未变；分级界限发生变化（其他用户的月费收入有变）",
    },
    # RFM segments and purchase personas do not exist for subscribers: one plain line says so
    "labels_note": {
        "en": "Subscribers have no RFM segments (recency, frequency, monetary do not apply to them). "
        "Their lifecycle comes from their subscriptions (trial, past due, won back, new) and the "
        "churn model (at risk); their personas name clusters of monthly fee, time subscribed, "
        "products, payments, contract and usage.",
        "zh": "订阅用户没有RFM分群（最近一次、频次、金额不适用）。其生命周期来自订阅记录（试用、欠费、挽回、新用户）和流失模型"
        "（流失预警）；客户画像是按月费、订阅时长、业务数、缴费、合约和使用情况聚类的结果。",
    },
    "forecast": {"en": "Forecast: totals and ranges", "zh": "预测：总额与区间"},
    "forecast_headline": {
        "en": "Forecast for the next {days} days: {total} in fees from {customers} subscribers (the "
        "sum of every subscriber's predicted value).",
        "zh": "未来{days}天预测：{customers}位用户月费收入共{total}（各用户预测价值之和）。",
    },
    "total_within": {
        "en": "The total adds up: within 10 % of the fees really billed in every backtest fold.",
        "zh": "总额可信：每个回测折与实际月费收入相差不超过10%。",
    },
    "total_outside": {
        "en": "The total is uncertain: more than 10 % off the fees really billed in some backtest "
        "fold.",
        "zh": "总额存在不确定性：至少一个回测折与实际月费收入相差超过10%。",
    },
    "total_within_corrected": {
        "en": "The corrected total adds up: in every backtest fold, the forecast corrected by the "
        "folds before it (as this period's forecast is corrected) was within 10 % of the fees "
        "really billed: the column “… corrected by earlier folds” (the first fold has none before "
        "it). “Forecast ÷ actual” shows the forecast uncorrected.",
        "zh": "校正后的总额可信：每个回测折按此前各折校正后的预测（本期预测同样校正）与实际月费收入相差不超过10%，见"
        "“按此前各折校正后”一列（第一个回测折之前没有可用的折）。“预测÷实际”一列为未校正的预测。",
    },
    "total_outside_corrected": {
        "en": "The total is uncertain: even corrected by the folds before it (as this period's "
        "forecast is corrected), the forecast was more than 10 % off the fees really billed in "
        "some backtest fold: the column “… corrected by earlier folds” (the first fold has none "
        "before it).",
        "zh": "总额存在不确定性：即使按此前各折校正（本期预测同样校正），至少一个回测折的预测与实际月费收入相差超过10%，见"
        "“按此前各折校正后”一列（第一个回测折之前没有可用的折）。",
    },
    "ranges_note": {
        "en": "Each subscriber gets a range meant to hold the fees billed to {level} of subscribers "
        "in the next period; for {zero} of them the range starts at ¥0 (they may leave). In the "
        "backtest the ranges held the fees of {held} of subscribers; a range from ¥0 holds at least "
        "{floor}. Every range holds the subscriber's own predicted value.",
        "zh": "每位用户有一个价值区间，目标是覆盖{level}用户的下期月费收入；{zero}用户的区间从¥0起（可能取消订阅）。"
        "回测中区间覆盖了{held}用户的实际月费收入；从¥0起的区间至少覆盖{floor}。每个区间都包含该用户自己的预测价值。",
    },
    "mean_spend": {"en": "Mean next-period fees (¥)", "zh": "下期平均月费收入（¥）"},
    "window_note": {
        "en": "The churn window is a business choice: “churned” means the subscription ended "
        "within that many days. Measured on {customers} subscribers as of {as_of} ({when}). A "
        "shorter window labels fewer subscribers churned; pick the window your action needs, then "
        "check that its model still beats the rules. This run uses {days} days.",
        "zh": "流失观察期是业务选择：“流失”指订阅在该天数内结束。基于{customers}位用户、评估日期{as_of}测量（{when}）。"
        "观察期越短，被标为流失的用户越少；请按行动所需选择观察期，并确认模型仍优于规则。本次运行使用{days}天。",
    },
    # the contract x tenure churn table, where purchases show frequency x recency matrices
    "matrices": {
        "en": "Contract × time subscribed: subscribers and churn risk",
        "zh": "合约类型 × 订阅时长：用户数与流失概率",
    },
    "matrices_note": {
        "en": "Each cell: the mean churn probability · subscribers. Subscribers running at the date, "
        "by their main subscription's contract and how long they have subscribed without a break "
        "(cancelled subscribers are not scored).",
        "zh": "每格：平均流失概率 · 用户数。评估日仍在订阅的用户，按主要订阅的合约类型和连续订阅时长分组（已取消的用户不评分）。",
    },
    "no_matrices": {
        "en": "No contract or tenure in this run's table.",
        "zh": "本次分级表没有合约或订阅时长。",
    },
}

# rejection codes of the subscription tables (segml.data.subscription_rows) in plain words: English
# as the report says them, Chinese from the data layer's words (the one source)
SUBSCRIBER_REJECTIONS_EN = {
    "missing_subscription_id": "Missing subscription id",
    "bad_start": "Unreadable start date",
    "bad_end": "Unreadable end date",
    "bad_cancelled_on": "Unreadable cancellation date",
    "negative_amount": "Negative recurring fee",
    "bad_quantity": "Unreadable or negative usage",
    "unknown_period": "Unknown billing period (add it to data.subscriptions.billing_periods)",
    "unknown_contract": "Unknown contract term (add it to data.subscriptions.contracts)",
    "unknown_outcome": "Unknown payment outcome (add it to data.payments.outcomes)",
    "ends_before_start": "Ends before it starts",
    "overlap": "Overlaps an earlier row of the same subscription",
}
SUBSCRIBER_REJECTIONS = {
    key: {"en": en, "zh": SUBSCRIPTION_REASONS_ZH[key]}
    for key, en in SUBSCRIBER_REJECTIONS_EN.items()
}


def subscriber_headers(cfg: ExportConfig) -> ExportConfig:
    """`cfg` with each `export.headers` entry `<key>_recurring` also under `<key>`: the names the
    workbook and the report give subscribers (the `_recurring` keys stay, for callers that ask for
    them by that name)."""
    headers = dict(cfg.headers)
    for key, names in cfg.headers.items():
        if key.endswith(RECURRING_SUFFIX):
            headers[key.removesuffix(RECURRING_SUFFIX)] = names
    return dataclasses.replace(cfg, headers=headers)
