"""The report's words and numbers: zh/en sentences, names from export.headers, number formats.

`Words` gives text in `export.language` (zh | en | both): report sentences and titles from `TEXT`,
names of models, scorers, metrics, statuses and columns from `export.headers` (the vocabulary the
workbook shares), and the display names of tiers.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from segml.config import ExportConfig
from segml.data.rejects import REASONS_ZH
from segml.reporting.audit_text import AUDIT_TEXT
from segml.reporting.subscriber_text import SUBSCRIBER_REJECTIONS, SUBSCRIBER_TEXT

# Scorers whose name differs by model (the value model's BG/NBD is BG/NBD x Gamma-Gamma): the
# one source of scorer names for the report, the workbook and the console (`scorer_key`).
SCORER_KEYS = {("upside", "baseline_bgnbd"): "baseline_bgnbd_value"}


def scorer_key(target: str, scorer: str) -> str:
    """The export.headers key that names `scorer` of model `target`."""
    return SCORER_KEYS.get((target, scorer), scorer)


# Report sentences and titles, per language. Names of models, scorers, metrics and table columns
# come from export.headers.
TEXT = {
    "title": {"en": "Customer tiers", "zh": "客户分级报告"},
    "as_of": {"en": "as of", "zh": "评估日期"},
    "business": {"en": "Business view", "zh": "业务概览"},
    "analysts": {"en": "Model quality (for analysts)", "zh": "模型质量（供分析师参考）"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "value_12m": {"en": "Value, last 12 months", "zh": "近12个月价值"},
    "at_risk_customers": {"en": "Customers at risk", "zh": "流失预警客户"},
    "value_at_risk": {"en": "Value of customers at risk", "zh": "预警客户价值"},
    "new_customers": {"en": "New customers", "zh": "新客户"},
    "policy": {"en": "Headline tiers", "zh": "主分级方法"},
    "tiers": {"en": "Tiers: who holds the value", "zh": "客户等级：价值集中在哪里"},
    "share_customers": {"en": "Share of customers", "zh": "客户占比"},
    "share_value": {"en": "Share of value", "zh": "价值占比"},
    # the lifecycle section's heading lists the statuses its table holds
    # (`business_view.lifecycle_heading`); without any, the name alone
    "lifecycle": {"en": "Lifecycle", "zh": "生命周期"},
    "lifecycle_of": {"en": "Lifecycle: {statuses}", "zh": "生命周期：{statuses}"},
    "rfm": {"en": "RFM segments", "zh": "RFM客户分群"},
    "rfm_note": {
        "en": "R, F and M are scores 1-5 against the other customers (5 = most recent, most often, "
        "most spend).",
        "zh": "R、F、M为与其他客户相比的1-5分（5 = 最近购买、购买最频繁、消费最多）。",
    },
    "movement": {
        "en": "Who moved since the previous period, and why",
        "zh": "与上期相比的等级变动及原因",
    },
    "no_previous": {
        "en": "No earlier period of this export to compare with yet: movement appears once an "
        "earlier month-end has been graded.",
        "zh": "暂无本数据更早期间的分级结果可比较：对更早的月末完成分级后即显示等级变动。",
    },
    "kept": {"en": "kept their tier", "zh": "等级不变"},
    "compared_with": {"en": "Compared with the previous period", "zh": "对比上期"},
    "upgrades": {"en": "upgrades", "zh": "升级"},
    "downgrades": {"en": "downgrades", "zh": "降级"},
    "new_graded": {"en": "new customers", "zh": "新客户"},
    "gone_graded": {"en": "no longer graded", "zh": "本期未分级"},
    "moved_up_spend": {
        "en": "spend in the last 12 months rose from {before} to {now}",
        "zh": "近12个月消费由{before}升至{now}",
    },
    "moved_down_spend": {
        "en": "spend in the last 12 months fell from {before} to {now}",
        "zh": "近12个月消费由{before}降至{now}",
    },
    "moved_up_potential": {
        "en": "predicted value rose from {before} to {now}",
        "zh": "预测价值由{before}升至{now}",
    },
    "moved_down_potential": {
        "en": "predicted value fell from {before} to {now}",
        "zh": "预测价值由{before}降至{now}",
    },
    "moved_boundaries": {
        "en": "about the same spend; the tier boundaries moved (other customers' spend changed)",
        "zh": "消费基本未变；分级界限发生变化（其他客户的消费有变）",
    },
    "moved_unknown": {
        "en": "the previous period did not record this customer's value",
        "zh": "上期未记录该客户的价值",
    },
    "biggest_moves": {"en": "Largest moves by change in value", "zh": "价值变化最大的变动客户"},
    "new_list": {
        "en": "New this period: graded for the first time (largest current value first)",
        "zh": "本期新增：首次参与分级的客户（按当前价值从高到低）",
    },
    "gone_list": {
        "en": "Graded last period, not this one (largest previous value first)",
        "zh": "上期参与分级、本期未分级的客户（按上期价值从高到低）",
    },
    "none_gone": {
        "en": "Every customer graded last period is graded this period.",
        "zh": "上期参与分级的客户本期全部参与分级。",
    },
    "previous_tier_value": {"en": "Previous tier and value", "zh": "上期等级与价值"},
    "tier_value": {"en": "Tier and value", "zh": "等级与价值"},
    **AUDIT_TEXT,  # the audit: did last period's grades come true? (audit_text.py)
    "models_used": {"en": "Models in use", "zh": "使用的模型"},
    "models_this_run": {
        "en": "trained in this run on data as of {as_of}",
        "zh": "本次运行训练，数据截至 {as_of}",
    },
    "at_risk": {"en": "Call first: customers at risk", "zh": "优先联系：流失预警客户"},
    "at_risk_note": {
        "en": "The first {shown} of the workbook's call list ({listed} of {at_risk} customers at risk): "
        "customers whose lifecycle is at risk, the most value at stake first (value at stake = churn "
        "probability × net spend in the last 12 months).",
        "zh": "工作簿优先联系名单的前{shown}位（共{at_risk}位流失预警客户，名单列出{listed}位）：生命周期为"
        "“流失预警”的客户，按风险价值从高到低排列（风险价值 = 流失概率 × 近12个月净消费）。",
    },
    "at_risk_note_recurring": {
        "en": "The first {shown} of the workbook's call list ({listed} of {at_risk} subscribers at "
        "risk or with a payment past due): subscribers whose lifecycle is at risk or past due, the "
        "most value at stake first (value at stake = churn probability × fees billed in the last "
        "12 months).",
        "zh": "工作簿优先联系名单的前{shown}位（共{at_risk}位流失预警或欠费用户，名单列出{listed}位）：生命周期为"
        "“流失预警”或“欠费”的用户，按风险价值从高到低排列（风险价值 = 流失概率 × 近12个月月费收入）。",
    },
    "at_risk_note_both": {
        "en": "The first {shown} of the workbook's call list ({listed} of {at_risk} customers at "
        "risk or with a payment past due): customers whose lifecycle is at risk or past due, the "
        "most value at stake first (value at stake = churn probability × fees billed and net spend "
        "in the last 12 months).",
        "zh": "工作簿优先联系名单的前{shown}位（共{at_risk}位流失预警或欠费客户，名单列出{listed}位）：生命周期为"
        "“流失预警”或“欠费”的客户，按风险价值从高到低排列（风险价值 = 流失概率 × 近12个月月费收入与净消费）。",
    },
    "teams": {"en": "What each team should do this month", "zh": "本月各团队行动"},
    "last_and_next": {
        "en": "Last purchase → next expected within the churn window",
        "zh": "最近购买 → 流失观察期内预计下次购买",
    },
    "none_expected": {"en": "none expected", "zh": "预计不购买"},  # an empty expected date
    "action_team": {"en": "Action (team)", "zh": "建议行动（负责团队）"},
    "teams_note": {
        "en": "Every customer has two actions: one for their tier and one for their lifecycle. Each "
        "table below counts every customer once.",
        "zh": "每位客户有两项行动：一项按客户等级，一项按生命周期。下面每张表中每位客户只计一次。",
    },
    "by_tier": {"en": "By tier ({n} customers)", "zh": "按客户等级（{n}位客户）"},
    "by_lifecycle": {"en": "By lifecycle ({n} customers)", "zh": "按生命周期（{n}位客户）"},
    "labels": {"en": "How the labels fit together", "zh": "各类标签之间的关系"},
    "labels_note": {
        "en": "Lifecycle is the time-based truth (days since the first and the last purchase, and the churn "
        "model). RFM segments rank customers against each other and personas name a whole cluster, so "
        "each is checked against the lifecycle: a customer whose first purchase is recent is never "
        "'Lapsed', a lost customer is never among the 'Champions' or 'Top buyers'. {adjusted} customers show a persona set by "
        "their lifecycle instead of their cluster's name.",
        "zh": "生命周期基于时间（首次与最近一次购买距今天数及流失模型），为准绳。RFM分群是客户之间的相对排名，画像是整个"
        "聚类的名称，二者都按生命周期校验：首次购买不久的客户不会被标为“久未购买客户”，已流失客户不会是“冠军客户”或“核心客户”。"
        "有{adjusted}位客户的画像按其生命周期而非所属聚类命名。",
    },
    "labels_disagree": {
        "en": "By design they can still differ: {n} customers rank high in RFM (champions or loyal) while the "
        "lifecycle says at risk, because RFM looks back and the churn model looks ahead. Treat them as "
        "valuable customers to keep.",
        "zh": "二者仍可能不同：{n}位客户在RFM中排名靠前（冠军或忠诚），但生命周期为流失预警，因为RFM回看过去、流失模型"
        "预测未来。请把他们当作需要挽留的重要客户。",
    },
    "grades": {"en": "Model grades", "zh": "模型评级"},
    "scored_with": {"en": "Scored with", "zh": "实际评分方法"},
    "backtest": {
        "en": "Walk-forward backtest (mean ± spread over folds)",
        "zh": "滚动回测（各折均值 ± 波动）",
    },
    "margin": {"en": "Model vs best baseline (+ = better)", "zh": "模型较最佳基准（+为更好）"},
    "no_backtest": {"en": "No backtest results in this run.", "zh": "本次运行没有回测结果。"},
    "folds": {"en": "folds", "zh": "折"},
    "metric": {"en": "Measure", "zh": "指标"},
    "validation": {
        "en": "Validation cutoff: model beside baselines",
        "zh": "验证时点：模型与基准对比",
    },
    "forecast": {
        "en": "Forecast: totals, ranges and next purchases",
        "zh": "预测：总额、区间与下次购买",
    },
    "no_forecast": {
        "en": "No forecast in this run: the models were not trained.",
        "zh": "本次运行没有预测：模型未训练。",
    },
    "forecast_headline": {
        "en": "Forecast for the next {days} days: {total} from {customers} customers (the sum of "
        "every customer's predicted value).",
        "zh": "未来{days}天预测：{customers}位客户共{total}（各客户预测价值之和）。",
    },
    "total_within": {
        "en": "The total adds up: within 10 % of what customers spent in every backtest fold.",
        "zh": "总额可信：每个回测折与客户实际消费相差不超过10%。",
    },
    "total_outside": {
        "en": "The total is uncertain: more than 10 % off what customers spent in some backtest fold.",
        "zh": "总额存在不确定性：至少一个回测折与客户实际消费相差超过10%。",
    },
    # the forecast is corrected by a factor (upside.total_calibration): the judgement is of the
    # corrected figures, the column beside the uncorrected ones, and the sentence says so
    "total_within_corrected": {
        "en": "The corrected total adds up: in every backtest fold, the forecast corrected by the "
        "folds before it (as this period's forecast is corrected) was within 10 % of what customers spent: "
        "the column “… corrected by earlier folds” (the first fold has none before it). “Forecast "
        "÷ actual” shows the forecast uncorrected.",
        "zh": "校正后的总额可信：每个回测折按此前各折校正后的预测（本期预测同样校正）与客户实际消费相差不超过10%，见"
        "“按此前各折校正后”一列（第一个回测折之前没有可用的折）。“预测÷实际”一列为未校正的预测。",
    },
    "total_outside_corrected": {
        "en": "The total is uncertain: even corrected by the folds before it (as this period's "
        "forecast is corrected), the forecast was more than 10 % off what customers spent in some backtest "
        "fold: the column “… corrected by earlier folds” (the first fold has none before it).",
        "zh": "总额存在不确定性：即使按此前各折校正（本期预测同样校正），至少一个回测折的预测与客户实际消费相差超过10%，见"
        "“按此前各折校正后”一列（第一个回测折之前没有可用的折）。",
    },
    "fold": {"en": "Backtest fold", "zh": "回测折"},
    "total_raw": {"en": "Forecast ÷ actual", "zh": "预测÷实际"},
    "total_corrected": {"en": "… corrected by earlier folds", "zh": "按此前各折校正后"},
    "total_high": {"en": "High potential", "zh": "高潜力"},
    "total_mid": {"en": "Mid potential", "zh": "中潜力"},
    "total_low": {"en": "Low potential", "zh": "低潜力"},
    "total_chart": {
        "en": "Forecast total ÷ actual total per fold (shaded: within 10 %)",
        "zh": "各回测折预测总额÷实际总额（阴影：误差10%以内）",
    },
    "ranges": {"en": "Value ranges", "zh": "价值区间"},
    "ranges_note": {
        "en": "Each customer gets a range meant to hold the next period's spend of {level} of "
        "customers. Many customers spend nothing in a period, so for {zero} of them the range "
        "starts at ¥0: read it as “up to” its high end, never as a minimum. In the backtest the "
        "ranges held what {held} of customers really spent; where most customers spend nothing, any range "
        "that includes ¥0 holds at least {floor}. Every range holds the customer's own predicted "
        "value, which can make the ranges hold more than {level}.",
        "zh": "每位客户有一个价值区间，目标是覆盖{level}客户的下期消费。许多客户在一期内不消费，因此{zero}客户的区间"
        "从¥0起：请理解为“最多”到区间上限，而非最低消费。回测中区间覆盖了{held}客户的实际消费；多数客户不消费时，"
        "任何包含¥0的区间至少覆盖{floor}。每个区间都包含该客户自己的预测价值，因此覆盖率可能高于{level}。",
    },
    "ranges_outside": {
        "en": "Some fold is more than 5 points from {level}: read the ranges with care.",
        "zh": "部分回测折与{level}相差超过5个百分点：请谨慎使用区间。",
    },
    "range_held": {"en": "Range held", "zh": "区间覆盖率"},
    "range_floor": {"en": "Least any range from ¥0 holds", "zh": "含¥0区间的最低覆盖率"},
    "range_from_zero": {"en": "Range starts at ¥0", "zh": "区间从¥0起的客户占比"},
    "dates": {"en": "Next purchase dates", "zh": "预计下次购买日期"},
    "dates_note": {
        "en": "{dated} customers expected to buy within {days} days get a date, from their own "
        "gaps between purchases (after a single purchase, the typical gap before a second); for "
        "{undated} none is expected within {days} days. In the backtest a date was followed by a "
        "purchase within the window for {date_right} of customers, and “none expected” was right "
        "for {none_right}. Read a date as “around”: when a customer buys is close to random.",
        "zh": "{dated}位预计在{days}天内购买的客户有预计日期，依据其自身购买间隔（仅购买过一次的，按常见的复购间隔）；"
        "{undated}位客户{days}天内预计不会购买。回测中，有预计日期的客户{date_right}在观察期内购买，"
        "“预计不会购买”的判断{none_right}正确。日期请理解为“前后”：客户何时购买接近随机。",
    },
    "dates_error": {
        "en": "For buyers given a date, the date was {mean} days from the real purchase on average "
        "({median} as the median).",
        "zh": "对有预计日期且实际购买的客户，预计日期与实际购买平均相差{mean}天（中位数{median}天）。",
    },
    "date_share": {"en": "Given a date", "zh": "有预计日期"},
    "date_right": {"en": "Date followed by a purchase", "zh": "有日期且购买"},
    "none_right": {"en": "“None expected” right", "zh": "“预计不会购买”正确"},
    "date_error": {"en": "Days off (mean)", "zh": "相差天数（平均）"},
    "window": {"en": "Choosing the churn window", "zh": "如何选择流失观察期"},
    "no_window": {
        "en": "Run “segml window” to compare churn windows of 30, 60, 90 and 180 days on this "
        "data; its table appears here.",
        "zh": "运行“segml window”可在本数据上比较30、60、90、180天的流失观察期，结果显示在此。",
    },
    "window_note": {
        "en": "The churn window is a business choice: “churned” means no purchase in that many "
        "days. Measured on {customers} customers as of {as_of} ({when}). A shorter window labels "
        "more customers churned and is harder to predict; pick the window your action needs, "
        "then check that its model still beats the rules. This run uses {days} days.",
        "zh": "流失观察期是业务选择：“流失”指在该天数内没有购买。基于{customers}位客户、评估日期{as_of}测量（{when}）。"
        "观察期越短，被标为流失的客户越多，也越难预测；请按行动所需选择观察期，并确认模型仍优于规则。本次运行使用{days}天。",
    },
    "window_other_period": {
        "en": "Measured for another period than this report's: run “segml window” again.",
        "zh": "该结果测量于其他评估日期：请重新运行“segml window”。",
    },
    "window_days": {"en": "Window (days)", "zh": "观察期（天）"},
    "churn_rate": {"en": "Churn rate", "zh": "流失率"},
    "window_model": {"en": "Model ROC AUC", "zh": "模型ROC AUC"},
    "window_baseline": {"en": "Best rule ROC AUC", "zh": "最佳规则ROC AUC"},
    "window_grade": {"en": "Grade", "zh": "评级"},
    "window_gini": {"en": "Value model Gini", "zh": "价值模型基尼系数"},
    "window_changed": {
        "en": "Lifecycle changes vs this run",
        "zh": "与本次相比生命周期变化客户数",
    },
    "window_seconds": {"en": "Time (s)", "zh": "耗时（秒）"},
    "calibration": {"en": "Churn calibration", "zh": "流失概率校准"},
    "predicted_churn": {"en": "Predicted churn probability", "zh": "预测流失概率"},
    "observed_churn": {"en": "Observed churn rate", "zh": "实际流失率"},
    "perfect": {"en": "Perfect calibration", "zh": "完美校准"},
    "gains": {"en": "Cumulative gains vs baselines", "zh": "累积增益：模型与基准"},
    "churn_quality": {"en": "Churn model: calibration and gains", "zh": "流失模型：校准与累积增益"},
    "contacted": {
        "en": "Share of customers contacted (highest risk first)",
        "zh": "联系客户占比（风险从高到低）",
    },
    "caught": {"en": "Share of churners caught", "zh": "覆盖的流失客户占比"},
    "random": {"en": "Random", "zh": "随机"},
    "deciles": {
        "en": "Future value by decile: predicted vs actual",
        "zh": "未来价值十分位：预测与实际",
    },
    "decile": {"en": "Decile (1 = highest predicted)", "zh": "十分位（1 = 预测最高）"},
    "predicted": {"en": "Predicted", "zh": "预测"},
    "actual": {"en": "Actual", "zh": "实际"},
    "mean_spend": {"en": "Mean next-period spend (¥)", "zh": "下期平均消费（¥）"},
    "matrices": {
        "en": "Frequency × recency: P(alive) and expected purchases (BG/NBD)",
        "zh": "频次 × 最近购买：存活概率与预计购买次数（BG/NBD）",
    },
    "p_alive": {"en": "Mean probability still a customer", "zh": "平均仍活跃概率"},
    "expected_purchases": {
        "en": "Mean expected purchases, next period",
        "zh": "下期平均预计购买次数",
    },
    "repeat_purchases": {"en": "Repeat purchases", "zh": "重复购买次数"},
    "days_since": {"en": "Days since last purchase", "zh": "距上次购买天数"},
    "matrices_note": {
        "en": "The BG/NBD model counts a customer who has not bought again yet as still active, so "
        "the first row reads 100 %; read it with the days since the purchase.",
        "zh": "BG/NBD模型把尚未再次购买的客户视为仍活跃，因此第一行为100%；请结合距上次购买天数解读。",
    },
    "no_matrices": {
        "en": "BG/NBD features are off in this run.",
        "zh": "本次运行未启用BG/NBD特征。",
    },
    "segments": {"en": "Segment profiles (clusters)", "zh": "客户细分画像（聚类）"},
    "importance": {"en": "What the models look at most", "zh": "模型最看重的因素"},
    "gain": {"en": "Importance (share of gain)", "zh": "重要性（增益占比）"},
    "quality": {"en": "Data quality", "zh": "数据质量"},
    "rows_read": {"en": "Rows read", "zh": "读取行数"},
    "rows_clean": {"en": "Clean rows", "zh": "有效行数"},
    "rows_rejected": {"en": "Rejected rows", "zh": "拒绝行数"},
    "rows_skipped": {
        "en": "Skipped rows (titles, totals, notes, empty rows)",
        "zh": "跳过的行（标题、合计、备注、空行）",
    },
    "rows_after_period": {"en": "Rows after the scoring date", "zh": "评估日之后的行"},
    "input_files": {"en": "Files read", "zh": "读取的文件"},
    "period": {"en": "Period", "zh": "数据期间"},
    "reason": {"en": "Reason", "zh": "原因"},
    "rows": {"en": "Rows", "zh": "行数"},
    "team": {"en": "Team", "zh": "负责团队"},
    "action": {"en": "Action", "zh": "建议行动"},
    "why": {"en": "Why", "zh": "原因"},
    "value_at_stake": {"en": "Value at stake", "zh": "风险价值"},
    "customer": {"en": "Customer", "zh": "客户"},
    "from_to": {"en": "Tier: before → now", "zh": "等级：上期 → 本期"},
    "value_before_now": {"en": "Value: before → now", "zh": "价值：上期 → 本期"},
    "mean_rfm": {"en": "Mean R / F / M", "zh": "平均 R / F / M"},
    "tier": {"en": "Tier", "zh": "等级"},
    "other_feature": {"en": "Other feature", "zh": "其他特征"},
    "persona": {"en": "Persona", "zh": "客户画像"},
    "rfm_segment": {"en": "RFM segment", "zh": "RFM分群"},
    "lifecycle_name": {"en": "Lifecycle", "zh": "生命周期"},
}
# Data-quality rejection codes (segml.data.validate) in plain words: English as the report says
# them, Chinese from the data layer's words (REASONS_ZH), the one source of both languages' codes.
REJECTIONS_EN = {
    "missing_customer_id": "Missing customer id",
    "bad_timestamp": "Unreadable date/time",
    "bad_amount": "Unreadable amount",
    "zero_amount": "Zero amount",
    "absurd_amount": "Amount beyond the configured maximum",
    "future": "Dated after the end of the export",
    "duplicate": "Exact duplicate row",
    "duplicate_customer": "Customer listed twice",
    "damaged_customer_id": "Customer id turned into a number by a spreadsheet (1.23457E+11)",
    "bad_valid_from": "Unreadable validity date",
}
REJECTIONS = {
    **{key: {"en": en, "zh": REASONS_ZH[key]} for key, en in REJECTIONS_EN.items()},
    **SUBSCRIBER_REJECTIONS,
}

MISSING = "–"  # shown for a missing number


def is_missing(value) -> bool:
    """None, pandas' NA or a float NaN."""
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, (float, np.floating)) and math.isnan(value))
    )


def money(value) -> str:
    """¥1,235: whole yuan with thousands separators."""
    return MISSING if is_missing(value) else f"¥{value:,.0f}"


def percent(value, digits: int = 1) -> str:
    """0.123 -> 12.3%."""
    return MISSING if is_missing(value) else f"{value:.{digits}%}"


def count(value) -> str:
    """A whole number with thousands separators."""
    return MISSING if is_missing(value) else f"{int(round(value)):,}"


def decimal(value, digits: int = 2) -> str:
    """A number to `digits` decimals with thousands separators."""
    return MISSING if is_missing(value) else f"{value:,.{digits}f}"


class Words:
    """Text in the export language: report sentences (TEXT) and names from export.headers;
    `recurring` (subscribers): `SUBSCRIBER_TEXT`'s sentences where it has one."""

    def __init__(self, cfg: ExportConfig, recurring: bool = False):
        self.language = cfg.language
        self.headers = cfg.headers
        self.recurring = recurring

    def text(self, key: str) -> dict:
        """The sentence `key` in both languages: the subscribers' own where they have one."""
        return (SUBSCRIBER_TEXT.get(key) or TEXT[key]) if self.recurring else TEXT[key]

    def pick(self, names: dict, joiner: str = " / ") -> str:
        """One of {"zh": ..., "en": ...}, or both joined, in the export language."""
        zh, en = names.get("zh"), names.get("en")
        if self.language == "both":
            return f"{zh}{joiner}{en}" if zh and en and zh != en else (zh or en or "")
        return names.get(self.language) or en or zh or ""

    def __call__(self, key: str, **fields) -> str:
        names = {k: v.format(**fields) for k, v in self.text(key).items()}
        return self.pick(names)

    def axis(self, key: str) -> str:
        """A chart axis title: in `both`, Chinese and English on two lines (one line of both ran
        past the chart's height and was clipped)."""
        return self.pick(self.text(key), "<br>")

    def sentence(self, key: str, **fields) -> str:
        """Longer text as HTML (escaped): in `both`, Chinese and English as two lines."""
        names = {k: html.escape(v.format(**fields)) for k, v in self.text(key).items()}
        return self.pick(names, "<br>") if self.language == "both" else self.pick(names)

    def cell(self, key: str, **fields) -> str:
        """Longer text for a table cell, as plain text: in `both`, Chinese and English on two
        lines (the table writer makes the line break; a workbook cell wraps there)."""
        names = {k: v.format(**fields) for k, v in self.text(key).items()}
        return self.pick(names, "\n") if self.language == "both" else self.pick(names)

    def target(self, key: str) -> str:
        """A model's name ("churn", "upside"): `target_<key>` in export.headers."""
        return self.name(f"target_{key}", self.name(key))

    def scorer(self, target: str, scorer: str) -> str:
        """A scorer's name as model `target` uses it (`scorer_key`)."""
        return self.name(scorer_key(target, scorer))

    def name(self, key, fallback: str | None = None) -> str:
        """A model, scorer, metric, status or column name from export.headers."""
        names = self.headers.get(key)
        if not names:
            return fallback if fallback is not None else str(key).replace("_", " ")
        return self.pick(names, " ")

    def column(self, frame: pd.DataFrame, stem: str) -> pd.Series:
        """`<stem>_zh` / `<stem>_en` columns in the export language."""
        zh, en = frame.get(f"{stem}_zh"), frame.get(f"{stem}_en")
        if self.language == "zh" and zh is not None:
            return zh.astype(str)
        if self.language == "en" and en is not None:
            return en.astype(str)
        if zh is not None and en is not None:
            return zh.astype(str) + " " + en.astype(str)
        return (zh if zh is not None else en).astype(str)

    def reasons(self, frame: pd.DataFrame, stem: str) -> pd.Series:
        """Reason columns: in `both`, Chinese and English on two lines."""
        zh, en = frame.get(f"{stem}_zh"), frame.get(f"{stem}_en")
        if self.language == "both" and zh is not None and en is not None:
            return zh.astype(str) + "\n" + en.astype(str)
        return self.column(frame, stem)


def tier_names(table: pd.DataFrame, w: Words) -> dict[str, str]:
    """Display names of the headline tiers: value x potential cells by their configured names."""
    if (
        "vp_cell_en" in table
        and table.get("tier_policy", pd.Series(dtype=object)).eq("value_potential").any()
    ):
        first = table.groupby("vp_cell").first()
        return dict(zip(first.index, w.column(first, "vp_cell")))
    return {}


def tier_name(tier, names: dict, w: Words) -> str:
    """A tier's display name: its configured name (`tier_names`), else its header name."""
    return names.get(tier) or w.name(tier, str(tier))


def _changed(before, now) -> bool:
    return abs(now - before) > max(0.01 * abs(before), 1.0)


def move_reason(row: dict, w: Words, potential: bool = False) -> str:
    """Why a customer changed tier, as plain text for a table cell: their own spend moved, their
    predicted value moved (`potential`: it grades the value x potential cells), or the tier
    boundaries did."""
    before, now = row.get("previous_value"), row.get("current_value")
    if is_missing(before) or is_missing(now):
        return w.cell("moved_unknown")
    if _changed(before, now):
        key = "moved_up_spend" if now > before else "moved_down_spend"
        return w.cell(key, before=money(before), now=money(now))
    was, will = row.get("previous_predicted_value"), row.get("predicted_value")
    if potential and not is_missing(was) and not is_missing(will) and _changed(was, will):
        key = "moved_up_potential" if will > was else "moved_down_potential"
        return w.cell(key, before=money(was), now=money(will))
    return w.cell("moved_boundaries")
