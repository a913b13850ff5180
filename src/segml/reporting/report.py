"""The report: one self-contained HTML file a CRM manager reads first, analysts read on.

Page one is the business view (tiers, lifecycle, RFM segments, who moved and why, customers at
risk with reasons and actions, what each team should do this month); model quality follows. Charts
are Plotly with plotly.js embedded once, so the file opens offline and the browser draws Chinese
with its own fonts. Text comes in `export.language` (zh | en | both); plain names for models,
scorers and metrics come from `export.headers`, the one vocabulary the workbook shares.

The static PNG plots for DVC (`plot_churn`, `plot_deciles`) stay matplotlib.
"""

from __future__ import annotations

import html
import io as _bytes_io
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from segml.config import ExportConfig

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
    "lifecycle": {
        "en": "Lifecycle: new, active, at risk, lost",
        "zh": "生命周期：新客、活跃、预警、流失",
    },
    "rfm": {"en": "RFM segments", "zh": "RFM客户分群"},
    "rfm_note": {
        "en": "R, F and M are scores 1-5 against the other customers (5 = most recent, most often, "
        "most spend).",
        "zh": "R、F、M为与其他客户相比的1-5分（5 = 最近购买、购买最频繁、消费最多）。",
    },
    "movement": {"en": "Who moved since the last run, and why", "zh": "与上期相比的等级变动及原因"},
    "no_previous": {
        "en": "No previous run to compare with yet: movement appears from the second run on.",
        "zh": "暂无上期结果可比较：从第二次运行起显示等级变动。",
    },
    "kept": {"en": "kept their tier", "zh": "等级不变"},
    "compared_with": {"en": "Compared with the previous period", "zh": "对比上期"},
    "upgrades": {"en": "upgrades", "zh": "升级"},
    "downgrades": {"en": "downgrades", "zh": "降级"},
    "moved_up_spend": {
        "en": "spend in the last 12 months rose from {before} to {now}",
        "zh": "近12个月消费由{before}升至{now}",
    },
    "moved_down_spend": {
        "en": "spend in the last 12 months fell from {before} to {now}",
        "zh": "近12个月消费由{before}降至{now}",
    },
    "moved_boundaries": {
        "en": "same spend; the tier boundaries moved (other customers' spend or the tier settings changed)",
        "zh": "消费未变；分级界限发生变化（其他客户的消费或分级设置有变）",
    },
    "moved_unknown": {
        "en": "the previous run did not record this customer's value",
        "zh": "上期未记录该客户的价值",
    },
    "biggest_moves": {"en": "Largest moves by change in value", "zh": "价值变化最大的变动客户"},
    "at_risk": {"en": "Top customers at risk: call them first", "zh": "重点流失风险客户：优先联系"},
    "at_risk_note": {
        "en": "Customers whose lifecycle is at risk, ranked by value at stake (churn probability × value "
        "of the last 12 months).",
        "zh": "生命周期为“流失预警”的客户，按风险价值（流失概率 × 近12个月价值）排序。",
    },
    "teams": {"en": "What each team should do this month", "zh": "本月各团队行动"},
    "labels": {"en": "How the labels fit together", "zh": "各类标签之间的关系"},
    "labels_note": {
        "en": "Lifecycle is the time-based truth (days since the first and the last purchase, and the churn "
        "model). RFM segments rank customers against each other and personas name a whole cluster, so "
        "each is checked against the lifecycle: a customer whose first purchase is recent is never "
        "'lost', a lost customer is never a 'champion'. {adjusted} customers show a persona set by "
        "their lifecycle instead of their cluster's name.",
        "zh": "生命周期基于时间（首次与最近一次购买距今天数及流失模型），为准绳。RFM分群是客户之间的相对排名，画像是整个"
        "聚类的名称，二者都按生命周期校验：首次购买不久的客户不会被标为“已流失”，已流失客户不会是“冠军客户”。"
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
    "no_backtest": {"en": "No backtest results in this run.", "zh": "本次运行没有回测结果。"},
    "folds": {"en": "folds", "zh": "折"},
    "metric": {"en": "Measure", "zh": "指标"},
    "validation": {
        "en": "Validation cutoff: model beside baselines",
        "zh": "验证时点：模型与基准对比",
    },
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
        "en": "As in lifetimes: BG/NBD counts a customer who has not repeated yet as still alive, so "
        "the first row reads 100 %; read it with the days since the purchase.",
        "zh": "与lifetimes一致：BG/NBD把尚未复购的客户视为仍活跃，因此第一行为100%；请结合距上次购买天数解读。",
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
# Data-quality rejection codes (segml.data.validate) in plain words.
REJECTIONS = {
    "missing_customer_id": {"en": "Missing customer id", "zh": "缺少客户编号"},
    "bad_timestamp": {"en": "Unreadable date/time", "zh": "无法解析的时间"},
    "bad_amount": {"en": "Unreadable amount", "zh": "无法解析的金额"},
    "zero_amount": {"en": "Zero amount", "zh": "金额为零"},
    "absurd_amount": {"en": "Amount beyond the configured maximum", "zh": "金额超过设定上限"},
    "future": {"en": "Dated after the end of the export", "zh": "日期晚于导出结束日"},
    "duplicate": {"en": "Exact duplicate row", "zh": "完全重复的行"},
    "duplicate_customer": {"en": "Customer listed twice", "zh": "客户重复出现"},
}
PALETTE = [
    "#1f6fb2",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#9c755f",
    "#bab0ac",
    "#4e79a7",
    "#ff9da7",
]
LIFECYCLE_COLOURS = {"new": "#4e79a7", "active": "#59a14f", "at_risk": "#f28e2b", "lost": "#9d9d9d"}
FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "Segoe UI", sans-serif'
MISSING = "–"
SECTIONS = [
    "kpis",
    "tiers",
    "lifecycle",
    "rfm",
    "movement",
    "at-risk",
    "teams",
    "labels",
    "grades",
    "backtest",
    "validation",
    "calibration",
    "deciles",
    "matrices",
    "segments",
    "importance",
    "quality",
]


@dataclass(frozen=True)
class ReportInputs:
    table: pd.DataFrame
    summary: pd.DataFrame
    movement: dict
    metrics: pd.DataFrame
    grades: dict  # target -> grade, best_baseline, beats_baseline, [verdict_en/zh, scorer, scorer_reason_en/zh]
    profile: pd.DataFrame
    plots: dict[str, pd.DataFrame]  # calibration, deciles, lift
    importance: pd.DataFrame  # model, feature, gain
    quality: dict
    as_of: str
    primary: str
    # long format: target, fold_cutoff, scorer, metric, value (absent: the section says so)
    backtest: pd.DataFrame | None = None
    # snapshot features for the frequency x recency matrices (frequency, recency_days, bgnbd_*)
    features: pd.DataFrame | None = None
    # plain feature names for the importance chart: feature -> {"en": ..., "zh": ...}
    # (segml.tiering.reasons.feature_labels from tiering.reasons.names)
    feature_labels: dict | None = None


# ---------------------------------------------------------------- static PNG plots for DVC


def _pyplot():
    """pyplot on the headless Agg backend, chosen at first use rather than at import time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    plt = _pyplot()
    buffer = _bytes_io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def plot_churn(calibration: pd.DataFrame, lift: pd.DataFrame) -> bytes:
    """Calibration and cumulative gains as a PNG (DVC plots)."""
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot([0, 1], [0, 1], ls=":", color="grey", label="perfect")
    a.plot(calibration["mean_predicted"], calibration["observed_rate"], marker="o", label="model")
    a.set_xlabel("predicted churn probability")
    a.set_ylabel("observed churn rate")
    a.set_title("Calibration (validation cutoff)")
    a.legend()
    for scorer, part in lift.groupby("scorer", sort=True):
        b.plot(part["share_contacted"], part["share_churners_caught"], label=scorer)
    b.plot([0, 1], [0, 1], ls=":", color="grey")
    b.set_xlabel("share of customers contacted (highest risk first)")
    b.set_ylabel("share of churners caught")
    b.set_title("Cumulative gains: model vs baselines")
    b.legend()
    return _png(fig)


def plot_deciles(deciles: pd.DataFrame) -> bytes:
    """Predicted vs actual future value per decile as a PNG (DVC plots)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = deciles["decile"].to_numpy()
    ax.bar(x - 0.2, deciles["mean_predicted"], 0.4, label="predicted")
    ax.bar(x + 0.2, deciles["mean_actual"], 0.4, label="actual")
    ax.set_xlabel("decile of predicted value (1 = highest)")
    ax.set_ylabel("mean next-period spend")
    ax.set_xticks(x)
    ax.legend()
    ax.set_title("Future value: predicted vs actual by decile")
    return _png(fig)


# ---------------------------------------------------------------- words and numbers


def _missing(value) -> bool:
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, (float, np.floating)) and math.isnan(value))
    )


def money(value) -> str:
    return MISSING if _missing(value) else f"¥{value:,.0f}"


def percent(value, digits: int = 1) -> str:
    return MISSING if _missing(value) else f"{value:.{digits}%}"


def count(value) -> str:
    return MISSING if _missing(value) else f"{int(round(value)):,}"


def decimal(value, digits: int = 2) -> str:
    return MISSING if _missing(value) else f"{value:,.{digits}f}"


class _Words:
    """Text in the export language: report sentences (TEXT) and names from export.headers."""

    def __init__(self, cfg: ExportConfig):
        self.language = cfg.language
        self.headers = cfg.headers

    def pick(self, names: dict, joiner: str = " / ") -> str:
        zh, en = names.get("zh"), names.get("en")
        if self.language == "both":
            return f"{zh}{joiner}{en}" if zh and en and zh != en else (zh or en or "")
        return names.get(self.language) or en or zh or ""

    def __call__(self, key: str, **fields) -> str:
        names = {k: v.format(**fields) for k, v in TEXT[key].items()}
        return self.pick(names)

    def sentence(self, key: str, **fields) -> str:
        """Longer text: in `both`, Chinese and English as two lines."""
        names = {k: v.format(**fields) for k, v in TEXT[key].items()}
        return self.pick(names, "<br>") if self.language == "both" else self.pick(names)

    def target(self, key: str) -> str:
        """A model's name ("churn", "upside"): `target_<key>` in export.headers."""
        return self.name(f"target_{key}", self.name(key))

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
        zh, en = frame.get(f"{stem}_zh"), frame.get(f"{stem}_en")
        if self.language == "both" and zh is not None and en is not None:
            return zh.astype(str) + "\n" + en.astype(str)
        return self.column(frame, stem)


# ---------------------------------------------------------------- HTML pieces


def _table(frame: pd.DataFrame, formats: dict | None = None, wide: set | None = None) -> str:
    """An HTML table; `formats` maps a column to a formatter, text columns are escaped as they are."""
    formats = formats or {}
    wide = wide or set()
    text_head = '<th class="text">'
    head = "".join(
        (text_head if c not in formats else "<th>") + f"{html.escape(str(c))}</th>"
        for c in frame.columns
    )
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record):
            shown = (
                formats[column](value)
                if column in formats
                else (MISSING if _missing(value) else str(value))
            )
            cls = (
                ' class="wide"'
                if column in wide
                else (' class="text"' if column not in formats else "")
            )
            cells.append(f"<td{cls}>{html.escape(shown).replace(chr(10), '<br>')}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table class="t"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


class _Charts:
    """Plotly figures as HTML divs; plotly.js is embedded with the first one only."""

    def __init__(self):
        self.count = 0

    def __call__(self, fig, height: int = 360) -> str:
        import plotly.io as pio

        fig.update_layout(
            template="plotly_white",
            height=height,
            font={"family": FONT, "size": 13},
            margin={"l": 70, "r": 20, "t": 40 if fig.layout.title.text else 30, "b": 50},
            separators=".,",
            legend={"orientation": "h", "y": -0.2},
        )
        self.count += 1
        return pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=self.count == 1,
            div_id=f"chart-{self.count}",
            config={"displaylogo": False, "responsive": True, "displayModeBar": False},
        )


def _kpis(table: pd.DataFrame, w: _Words) -> str:
    status = table.get("lifecycle_status", pd.Series(dtype=object))
    at_risk = status == "at_risk"
    cards = [
        (w("customers"), count(len(table))),
        (w("value_12m"), money(table["current_value"].clip(lower=0).sum())),
        (
            w("at_risk_customers"),
            f"{count(at_risk.sum())} ({percent(at_risk.mean() if len(table) else 0)})",
        ),
        (w("value_at_risk"), money(table.loc[at_risk, "current_value"].clip(lower=0).sum())),
        (w("new_customers"), count((status == "new").sum())),
    ]
    return (
        '<div class="kpis">'
        + "".join(
            f'<div class="kpi"><div class="k">{html.escape(k)}</div><div class="v">{html.escape(v)}</div></div>'
            for k, v in cards
        )
        + "</div>"
    )


def tier_names(table: pd.DataFrame, w: _Words) -> dict[str, str]:
    """Display names of the headline tiers: value x potential cells by their configured names."""
    if (
        "vp_cell_en" in table
        and table.get("tier_policy", pd.Series(dtype=object)).eq("value_potential").any()
    ):
        first = table.groupby("vp_cell").first()
        return dict(zip(first.index, w.column(first, "vp_cell")))
    return {}


def _tier_name(tier, names: dict, w: _Words) -> str:
    return names.get(tier) or w.name(tier, str(tier))


def _tiers(inputs: ReportInputs, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go

    summary = inputs.summary
    names = tier_names(inputs.table, w)
    tiers = [_tier_name(t, names, w) for t in summary["tier"]]
    fig = go.Figure(
        [
            go.Bar(
                name=w("share_customers"),
                x=tiers,
                y=summary["customer_share"],
                marker_color=PALETTE[0],
                text=[percent(v) for v in summary["customer_share"]],
                textposition="outside",
            ),
            go.Bar(
                name=w("share_value"),
                x=tiers,
                y=summary["value_share"],
                marker_color=PALETTE[1],
                text=[percent(v) for v in summary["value_share"]],
                textposition="outside",
            ),
        ]
    )
    fig.update_layout(barmode="group", yaxis={"tickformat": ".0%"})
    shown = pd.DataFrame(
        {
            w("tier"): tiers,
            w.name("customers"): summary["customers"],
            w.name("customer_share"): summary["customer_share"],
            w.name("value_share"): summary["value_share"],
            w.name("mean_churn_probability"): summary["mean_churn_probability"],
            w.name("mean_predicted_value"): summary.get(
                "mean_predicted_value", pd.Series(np.nan, index=summary.index)
            ),
        }
    )
    formats = dict(zip(shown.columns[1:], [count, percent, percent, percent, money]))
    return chart(fig) + _table(shown, formats)


def _lifecycle(table: pd.DataFrame, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go

    if "lifecycle_status" not in table:
        return ""
    order = [
        s for s in ("new", "active", "at_risk", "lost") if (table["lifecycle_status"] == s).any()
    ]
    grouped = table.groupby("lifecycle_status")
    names = [w.name(s) for s in order]
    customers = grouped.size().reindex(order)
    value = grouped["current_value"].apply(lambda v: v.clip(lower=0).sum()).reindex(order)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=customers,
            marker_color=[LIFECYCLE_COLOURS.get(s, PALETTE[0]) for s in order],
            text=[f"{count(c)} · {money(v)}" for c, v in zip(customers, value)],
            textposition="outside",
            hovertemplate="%{x}: %{y:,} <extra></extra>",
        )
    )
    fig.update_layout(yaxis={"title": w("customers"), "tickformat": ","})
    total = max(table["current_value"].clip(lower=0).sum(), 1e-9)
    shown = pd.DataFrame(
        {
            w("lifecycle_name"): names,
            w.name("customers"): customers.to_numpy(),
            w.name("customer_share"): (customers / len(table)).to_numpy(),
            w.name("value_share"): (value / total).to_numpy(),
            w.name("mean_churn_probability"): grouped["churn_probability"]
            .mean()
            .reindex(order)
            .to_numpy(),
        }
    )
    formats = dict(zip(shown.columns[1:5], [count, percent, percent, percent]))
    return chart(fig, 330) + _table(shown, formats)


def _rfm(table: pd.DataFrame, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go

    if "rfm_segment" not in table:
        return ""
    grouped = table.groupby("rfm_segment")
    frame = pd.DataFrame(
        {
            "name": w.column(grouped.first(), "rfm_segment"),
            "customers": grouped.size(),
            "value": grouped["current_value"].apply(lambda v: v.clip(lower=0).sum()),
            "r": grouped["rfm_r"].mean(),
            "f": grouped["rfm_f"].mean(),
            "m": grouped["rfm_m"].mean(),
            "churn": grouped["churn_probability"].mean(),
        }
    )
    frame = frame.assign(score=frame[["r", "f", "m"]].sum(axis=1)).sort_values(
        ["score", "customers"], ascending=False
    )
    total = max(frame["value"].sum(), 1e-9)
    fig = go.Figure(
        go.Treemap(
            labels=frame["name"],
            parents=[""] * len(frame),
            values=frame["customers"],
            marker={
                "colors": frame["value"] / total,
                "colorscale": "Blues",
                "showscale": False,
                "line": {"color": "#ffffff", "width": 2},
            },
            texttemplate="<b>%{label}</b><br>%{value:,}<br>%{customdata}",
            customdata=[percent(v) for v in frame["value"] / total],
            hovertemplate="%{label}: %{value:,}<extra></extra>",
        )
    )

    shown = pd.DataFrame(
        {
            w("rfm_segment"): frame["name"].to_numpy(),
            w.name("customers"): frame["customers"].to_numpy(),
            w.name("customer_share"): (frame["customers"] / len(table)).to_numpy(),
            w.name("value_share"): (frame["value"] / total).to_numpy(),
            w("mean_rfm"): [
                f"{r:.1f} / {f:.1f} / {m:.1f}"
                for r, f, m in zip(frame["r"], frame["f"], frame["m"])
            ],
            w.name("mean_churn_probability"): frame["churn"].to_numpy(),
        }
    )
    formats = dict(zip(shown.columns[1:4], [count, percent, percent]))
    formats[shown.columns[5]] = percent
    return f"<p>{w.sentence('rfm_note')}</p>" + chart(fig, 420) + _table(shown, formats)


def _move_reason(before, now, w: _Words) -> str:
    """Why a customer changed tier: their own spend moved, or the tier boundaries did."""
    if _missing(before):
        return w.sentence("moved_unknown")
    if abs(now - before) > max(0.01 * abs(before), 1.0):
        key = "moved_up_spend" if now > before else "moved_down_spend"
        return w.sentence(key, before=money(before), now=money(now))
    return w.sentence("moved_boundaries")


def _movement(inputs: ReportInputs, w: _Words) -> str:
    move = inputs.movement
    if not move.get("available"):
        return f"<p>{w.sentence('no_previous')}</p>"
    period = move.get("compared_with")
    summary = (
        (f"<p>{w('compared_with')}: <b>{html.escape(period)}</b></p>" if period else "")
        + f"<p><b>{percent(move['kept_share'])}</b> {w('kept')} · <b>{count(len(move['upgrades']))}</b> "
        f"{w('upgrades')} · <b>{count(len(move['downgrades']))}</b> {w('downgrades')}</p>"
    )
    movers = pd.concat([move["upgrades"], move["downgrades"]], ignore_index=True)
    if movers.empty:
        return summary
    before_value = movers.get("previous_value", pd.Series(np.nan, index=movers.index))
    movers = (
        movers.assign(change=(movers["current_value"] - before_value).abs().fillna(0))
        .sort_values(["change", "current_value", "customer_id"], ascending=[False, False, True])
        .head(15)
    )
    reasons = [
        _move_reason(a, b, w)
        for a, b in zip(
            movers.get("previous_value", [np.nan] * len(movers)), movers["current_value"]
        )
    ]
    before = movers.get("previous_value")
    names = tier_names(inputs.table, w)
    shown = pd.DataFrame(
        {
            w("customer"): movers["customer_id"].to_numpy(),
            w("from_to"): [
                f"{_tier_name(a, names, w)} → {_tier_name(b, names, w)}"
                for a, b in zip(movers["previous"], movers["current"])
            ],
            w("value_before_now"): [
                f"{money(a)} → {money(b)}"
                for a, b in zip(
                    before if before is not None else [np.nan] * len(movers),
                    movers["current_value"],
                )
            ],
            w("why"): reasons,
        }
    )
    return summary + f"<h3>{html.escape(w('biggest_moves'))}</h3>" + _table(shown, wide={w("why")})


def _at_risk(table: pd.DataFrame, w: _Words, top: int = 15) -> str:
    names = tier_names(table, w)
    status = table.get("lifecycle_status", pd.Series("at_risk", index=table.index))
    candidates = table[status == "at_risk"]
    stake = candidates["churn_probability"] * candidates["current_value"].clip(lower=0)
    chosen = (
        candidates.assign(stake=stake)
        .sort_values(["stake", "customer_id"], ascending=[False, True])
        .head(top)
    )
    shown = pd.DataFrame(
        {
            w("customer"): chosen["customer_id"].to_numpy(),
            w("tier"): [_tier_name(t, names, w) for t in chosen["tier"]],
            w("lifecycle_name"): w.column(chosen, "lifecycle").to_numpy()
            if "lifecycle_en" in chosen
            else "",
            w("rfm_segment"): w.column(chosen, "rfm_segment").to_numpy()
            if "rfm_segment_en" in chosen
            else "",
            w.name("current_value"): chosen["current_value"].to_numpy(),
            w.name("churn_probability"): chosen["churn_probability"].to_numpy(),
            w("why"): w.reasons(chosen, "churn_reasons").to_numpy()
            if "churn_reasons_en" in chosen
            else "",
            w("action"): w.column(chosen, "lifecycle_action").to_numpy()
            if "lifecycle_action_en" in chosen
            else "",
            w("team"): w.column(chosen, "lifecycle_action_team").to_numpy()
            if "lifecycle_action_team_en" in chosen
            else "",
        }
    )
    formats = {w.name("current_value"): money, w.name("churn_probability"): percent}
    return f"<p>{w.sentence('at_risk_note')}</p>" + _table(shown, formats, {w("why")})


def _teams(table: pd.DataFrame, w: _Words) -> str:
    parts = []
    for prefix in ("lifecycle_action", "action"):
        if f"{prefix}_team_en" not in table or f"{prefix}_en" not in table:
            continue
        frame = pd.DataFrame(
            {
                "team": w.column(table, f"{prefix}_team"),
                "action": w.column(table, prefix),
                "value": table["current_value"].clip(lower=0),
            }
        )
        parts.append(frame[frame["action"].str.strip() != ""])
    if not parts:
        return ""
    frame = pd.concat(parts, ignore_index=True)
    grouped = frame.groupby(["team", "action"], sort=True).agg(
        customers=("value", "size"), value=("value", "sum")
    )
    grouped = grouped.reset_index().sort_values(["team", "customers"], ascending=[True, False])
    shown = pd.DataFrame(
        {
            w("team"): grouped["team"].to_numpy(),
            w("action"): grouped["action"].to_numpy(),
            w.name("customers"): grouped["customers"].to_numpy(),
            w("value_12m"): grouped["value"].to_numpy(),
        }
    )
    return _table(shown, {w.name("customers"): count, w("value_12m"): money}, {w("action")})


def _labels(table: pd.DataFrame, w: _Words) -> str:
    adjusted = int(table["persona_adjusted"].sum()) if "persona_adjusted" in table else 0
    text = f"<p>{w.sentence('labels_note', adjusted=count(adjusted))}</p>"
    if {"rfm_segment", "lifecycle_status"} <= set(table.columns):
        n = int(
            (
                table["rfm_segment"].isin(["champions", "loyal"])
                & (table["lifecycle_status"] == "at_risk")
            ).sum()
        )
        if n:
            text += f"<p>{w.sentence('labels_disagree', n=count(n))}</p>"
    return text


def _verdict(target: str, grade: dict, w: _Words) -> str:
    """The one-line verdict: the lead's sentences when present, else built from the grade."""
    if grade.get("verdict_en") or grade.get("verdict_zh"):
        text = w.pick({"en": grade.get("verdict_en"), "zh": grade.get("verdict_zh")}, " / ")
    else:
        beats = grade.get("beats_baseline")
        margin = grade.get("margin_over_best_baseline")
        best = w.name(grade.get("best_baseline"), "")
        text = w.pick(
            {
                "en": f"{'beats' if beats else 'does not beat'} its best baseline ({best}) by {decimal(margin, 3)}",
                "zh": f"{'优于' if beats else '未优于'}最佳基准（{best}），差值{decimal(margin, 3)}",
            }
        )
    letter = html.escape(str(grade.get("grade", MISSING)))
    warn = "" if grade.get("grade") in ("A", "B") else " warn"
    line = (
        f'<p class="grade{warn}"><b>{html.escape(w.target(target))}</b>: <span class="letter">{letter}</span> '
        f"{html.escape(text)}"
    )
    if grade.get("scorer"):
        reason = w.pick(
            {"en": grade.get("scorer_reason_en"), "zh": grade.get("scorer_reason_zh")}, " / "
        )
        line += (
            f"<br>{html.escape(w('scored_with'))}: <b>{html.escape(w.name(grade['scorer']))}</b>"
        )
        line += f" — {html.escape(reason)}" if reason else ""
    return line + "</p>"


def _backtest(backtest: pd.DataFrame | None, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go

    if backtest is None or backtest.empty:
        return f"<p>{w.sentence('no_backtest')}</p>"
    out = []
    for target, part in backtest.groupby("target", sort=True):
        stats = (
            part.groupby(["metric", "scorer"])["value"].agg(["mean", "std", "count"]).reset_index()
        )
        metrics = list(dict.fromkeys(part["metric"]))
        scorers = list(dict.fromkeys(part["scorer"]))
        rows = []
        for metric in metrics:
            row = {w("metric"): w.name(metric)}
            for scorer in scorers:
                hit = stats[(stats["metric"] == metric) & (stats["scorer"] == scorer)]
                row[w.name(scorer)] = (
                    MISSING
                    if hit.empty
                    else f"{decimal(hit['mean'].iloc[0])} ± {decimal(hit['std'].fillna(0).iloc[0])}"
                )
            rows.append(row)
        folds = part["fold_cutoff"].nunique()
        out.append(f"<h3>{html.escape(w.target(target))} · {folds} {html.escape(w('folds'))}</h3>")
        headline = metrics[0]
        fig = go.Figure()
        for i, scorer in enumerate(scorers):
            line = part[(part["metric"] == headline) & (part["scorer"] == scorer)].sort_values(
                "fold_cutoff"
            )
            fig.add_trace(
                go.Scatter(
                    x=line["fold_cutoff"].astype(str),
                    y=line["value"],
                    name=w.name(scorer),
                    mode="lines+markers",
                    line={"color": PALETTE[i % len(PALETTE)]},
                    hovertemplate="%{x}: %{y:.2f}<extra></extra>",
                )
            )
        fig.update_layout(
            title=f"{w.target(target)}: {w.name(headline)}",
            yaxis={"tickformat": ".2f"},
            xaxis={"type": "category"},
        )
        out.append(chart(fig, 320) + _table(pd.DataFrame(rows)))
    return "".join(out)


def _validation(metrics: pd.DataFrame, w: _Words) -> str:
    out = []
    if metrics is None or metrics.empty or "target" not in metrics:
        return ""
    for target, part in metrics.groupby("target", sort=True):
        part = part.dropna(axis=1, how="all")
        columns = [
            c
            for c in part.columns
            if c not in ("target", "grade", "beats_baseline", "best_iteration")
            and pd.api.types.is_numeric_dtype(part[c])
        ]
        shown = pd.DataFrame(
            {w.name("scorer"): part.get("scorer", pd.Series("", index=part.index)).map(w.name)}
        )
        formats = {}
        for column in columns:
            header = w.name(column)
            shown[header] = part[column].to_numpy()
            formats[header] = (
                (lambda v: decimal(v, 0)) if column in ("best_n_days", "mae") else decimal
            )
        out.append(f"<h3>{html.escape(w.target(target))}</h3>" + _table(shown, formats))
    return "".join(out)


def _calibration(plots: dict, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    calibration, lift = plots.get("calibration"), plots.get("lift")
    if calibration is None or lift is None:
        return ""
    fig = make_subplots(1, 2, subplot_titles=(w("calibration"), w("gains")))
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            name=w("perfect"),
            mode="lines",
            line={"dash": "dot", "color": "#999999"},
        ),
        1,
        1,
    )
    fig.add_trace(
        go.Scatter(
            x=calibration["mean_predicted"],
            y=calibration["observed_rate"],
            name=w.name("model"),
            mode="lines+markers",
            line={"color": PALETTE[0]},
            hovertemplate="%{x:.0%} → %{y:.0%}<extra></extra>",
        ),
        1,
        1,
    )
    for i, (scorer, part) in enumerate(lift.groupby("scorer", sort=True)):
        fig.add_trace(
            go.Scatter(
                x=part["share_contacted"],
                y=part["share_churners_caught"],
                name=w.name(scorer),
                mode="lines",
                line={"color": PALETTE[(i + 1) % len(PALETTE)]},
                hovertemplate="%{x:.0%} → %{y:.0%}<extra></extra>",
            ),
            1,
            2,
        )
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            name=w("random"),
            mode="lines",
            line={"dash": "dot", "color": "#bbbbbb"},
        ),
        1,
        2,
    )
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(title_text=w("predicted_churn"), row=1, col=1)
    fig.update_yaxes(title_text=w("observed_churn"), row=1, col=1)
    fig.update_xaxes(title_text=w("contacted"), row=1, col=2)
    fig.update_yaxes(title_text=w("caught"), row=1, col=2)
    return chart(fig, 420)


def _deciles(deciles: pd.DataFrame | None, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go

    if deciles is None or deciles.empty:
        return ""
    fig = go.Figure(
        [
            go.Bar(
                name=w("predicted"),
                x=deciles["decile"],
                y=deciles["mean_predicted"],
                marker_color=PALETTE[0],
                hovertemplate="%{x}: ¥%{y:,.0f}<extra></extra>",
            ),
            go.Bar(
                name=w("actual"),
                x=deciles["decile"],
                y=deciles["mean_actual"],
                marker_color=PALETTE[1],
                hovertemplate="%{x}: ¥%{y:,.0f}<extra></extra>",
            ),
        ]
    )
    fig.update_layout(
        barmode="group",
        xaxis={"title": w("decile"), "dtick": 1},
        yaxis={"title": w("mean_spend"), "tickformat": ",.0f"},
    )
    shown = pd.DataFrame(
        {
            w("decile"): deciles["decile"],
            w.name("customers"): deciles.get("customers", np.nan),
            w("predicted"): deciles["mean_predicted"],
            w("actual"): deciles["mean_actual"],
        }
    )
    return chart(fig) + _table(
        shown, {w.name("customers"): count, w("predicted"): money, w("actual"): money}
    )


FREQUENCY_BINS = [
    (0, 0, "0"),
    (1, 1, "1"),
    (2, 2, "2"),
    (3, 4, "3–4"),
    (5, 9, "5–9"),
    (10, math.inf, "10+"),
]
RECENCY_BINS = [
    (0, 30, "0–30"),
    (31, 90, "31–90"),
    (91, 180, "91–180"),
    (181, 365, "181–365"),
    (366, math.inf, "366+"),
]


def _bin(values: pd.Series, bins) -> pd.Series:
    out = pd.Series(None, index=values.index, dtype=object)
    for low, high, name in bins:
        out[(values >= low) & (values <= high)] = name
    return out


def frequency_recency_matrix(features: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean of `column` by repeat purchases (rows, as lifetimes counts them) x days since the last
    purchase (columns); empty cells stay NaN."""
    repeat = _bin(features["frequency"] - 1, FREQUENCY_BINS)
    recency = _bin(features["recency_days"], RECENCY_BINS)
    table = features[column].groupby([repeat, recency]).mean().unstack()
    return table.reindex(index=[b[2] for b in FREQUENCY_BINS], columns=[b[2] for b in RECENCY_BINS])


def _matrices(features: pd.DataFrame | None, w: _Words, chart: _Charts) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    needed = {"frequency", "recency_days", "bgnbd_p_alive", "bgnbd_expected_purchases"}
    if features is None or not needed <= set(features.columns):
        return f"<p>{w.sentence('no_matrices')}</p>"
    fig = make_subplots(
        1, 2, subplot_titles=(w("p_alive"), w("expected_purchases")), horizontal_spacing=0.12
    )
    for col, (column, fmt, scale) in enumerate(
        (("bgnbd_p_alive", ".0%", "Blues"), ("bgnbd_expected_purchases", ".1f", "Greens")), start=1
    ):
        matrix = frequency_recency_matrix(features, column)
        z = matrix.to_numpy(dtype=float)
        text = [[("" if math.isnan(v) else format(v, fmt)) for v in row] for row in z]
        fig.add_trace(
            go.Heatmap(
                z=np.where(np.isnan(z), None, z).tolist(),
                x=list(matrix.columns),
                y=list(matrix.index),
                colorscale=scale,
                showscale=False,
                text=text,
                texttemplate="%{text}",
                hovertemplate="%{y} × %{x}: %{text}<extra></extra>",
                xgap=2,
                ygap=2,
            ),
            1,
            col,
        )
        fig.update_xaxes(title_text=w("days_since"), row=1, col=col)
        fig.update_yaxes(title_text=w("repeat_purchases"), row=1, col=col)
    return chart(fig, 420) + f"<p>{w.sentence('matrices_note')}</p>"


def _segments(profile: pd.DataFrame, w: _Words) -> str:
    if profile is None or profile.empty:
        return ""
    shown = pd.DataFrame(
        {
            w("persona"): w.column(profile, "persona") if "persona_en" in profile else "",
            w.name("customers"): profile["customers"],
        }
    )
    formats = {w.name("customers"): count}
    if "share" in profile:
        shown[w.name("customer_share")] = profile["share"]
        formats[w.name("customer_share")] = percent
    means = {
        "mean_recency_days": ("recency_days", count),
        "mean_frequency": ("frequency", lambda v: decimal(v, 1)),
        "mean_monetary_total": ("monetary_total", money),
        "mean_avg_order_value": ("avg_order_value", money),
    }
    for column, (key, fmt) in means.items():
        if column in profile:
            header = w.name(key, w.name("mean_" + key))
            shown[header] = profile[column]
            formats[header] = fmt
    return _table(shown, formats)


def _importance(
    importance: pd.DataFrame, names: dict | None, w: _Words, chart: _Charts, top: int = 12
) -> str:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    if importance is None or importance.empty:
        return ""
    models = sorted(importance["model"].unique())
    fig = make_subplots(
        1, len(models), subplot_titles=[w.target(m) for m in models], horizontal_spacing=0.25
    )
    for col, model in enumerate(models, start=1):
        part = importance[importance["model"] == model]
        share = part["gain"] / max(part["gain"].sum(), 1e-12)
        part = (
            part.assign(share=share)
            .sort_values(["share", "feature"], ascending=[False, True])
            .head(top)[::-1]
        )
        language = "zh" if w.language == "both" else w.language  # short axis labels: one language
        labels = [
            (names or {}).get(f, {}).get(language) or w("other_feature") for f in part["feature"]
        ]
        fig.add_trace(
            go.Bar(
                x=part["share"],
                y=labels,
                orientation="h",
                marker_color=PALETTE[col - 1],
                showlegend=False,
                hovertemplate="%{y}: %{x:.1%}<extra></extra>",
            ),
            1,
            col,
        )
        fig.update_xaxes(tickformat=".0%", title_text=w("gain"), row=1, col=col)
    return chart(fig, 80 + 30 * top)


def _quality(quality: dict, w: _Words) -> str:
    q = quality or {}
    facts = [
        (w("rows_read"), count(q.get("rows_read"))),
        (w("rows_clean"), count(q.get("rows_clean"))),
        (
            w("rows_rejected"),
            f"{count(q.get('rows_rejected'))} ({percent(q.get('rejected_share'), 2)})",
        ),
        (w("period"), f"{q.get('first_date') or MISSING} – {q.get('last_date') or MISSING}"),
    ]
    text = (
        "<p>" + " · ".join(f"{html.escape(k)}: <b>{html.escape(v)}</b>" for k, v in facts) + "</p>"
    )
    reasons = q.get("rejected_by_reason", {})
    if reasons:
        shown = pd.DataFrame(
            {
                w("reason"): [
                    w.pick(REJECTIONS.get(k, {"en": k.replace("_", " ")})) for k in reasons
                ],
                w("rows"): list(reasons.values()),
            }
        )
        text += _table(shown, {w("rows"): count})
    return text


STYLE = (
    """
body{font-family:%s;max-width:1320px;margin:auto;padding:0 24px 40px;color:#1d2733;background:#fff;line-height:1.45}
h1{font-size:26px;margin:18px 0 4px} h2{font-size:20px;margin:28px 0 8px;border-bottom:2px solid #e3e8ef;
padding-bottom:4px} h3{font-size:16px;margin:14px 0 6px} .sub{color:#5a6675;margin:0 0 12px}
.part{font-size:13px;text-transform:uppercase;letter-spacing:.08em;color:#1f6fb2;margin-top:30px}
.kpis{display:flex;gap:12px;flex-wrap:wrap;margin:10px 0 6px}
.kpi{flex:1 1 180px;background:#f3f6fa;border-radius:8px;padding:10px 14px}
.kpi .k{font-size:13px;color:#5a6675} .kpi .v{font-size:22px;font-weight:600;margin-top:2px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:22px} .grid>section{min-width:0}
.scroll{overflow-x:auto} table.t{border-collapse:collapse;font-size:13px;margin:6px 0 4px;width:100%%}
table.t th{background:#eef3f9;text-align:right;padding:5px 8px;font-weight:600;vertical-align:bottom}
table.t td.text{min-width:90px} table.t td.wide{min-width:360px;text-align:left}
table.t td{border-bottom:1px solid #e6eaf0;padding:4px 8px;text-align:right;vertical-align:top}
table.t td.text,table.t th.text,table.t th:first-child,table.t td:first-child{text-align:left}
.grade .letter{display:inline-block;min-width:1.6em;text-align:center;font-weight:700;background:#59a14f;
color:#fff;border-radius:4px;margin:0 4px} .warn .letter{background:#c0392b} .warn{color:#9b1c1c}
@media (max-width:1100px){.grid{grid-template-columns:1fr}}
"""
    % FONT
)


def render(
    inputs: ReportInputs, levels: list[str] | None = None, cfg: ExportConfig | None = None
) -> str:
    """The report as one HTML string; a part with no data says so instead of failing."""
    w = _Words(cfg or ExportConfig())
    chart = _Charts()
    table = inputs.table

    def section(key: str, title: str, body: str) -> str:
        return f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>' if body else ""

    business = "".join(
        [
            f'<section id="kpis">{_kpis(table, w)}</section>',
            '<div class="grid">',
            section("tiers", w("tiers"), _tiers(inputs, w, chart)),
            section("lifecycle", w("lifecycle"), _lifecycle(table, w, chart)),
            "</div>",
            section("at-risk", w("at_risk"), _at_risk(table, w)),
            section("teams", w("teams"), _teams(table, w)),
            '<div class="grid">',
            section("rfm", w("rfm"), _rfm(table, w, chart)),
            section("movement", w("movement"), _movement(inputs, w)),
            "</div>",
            section("labels", w("labels"), _labels(table, w)),
        ]
    )
    grades = "".join(_verdict(t, g, w) for t, g in sorted(inputs.grades.items()))
    analysts = "".join(
        [
            section("grades", w("grades"), grades),
            section("backtest", w("backtest"), _backtest(inputs.backtest, w, chart)),
            section("validation", w("validation"), _validation(inputs.metrics, w)),
            section("calibration", w("churn_quality"), _calibration(inputs.plots, w, chart)),
            section("deciles", w("deciles"), _deciles(inputs.plots.get("deciles"), w, chart)),
            section("matrices", w("matrices"), _matrices(inputs.features, w, chart)),
            section("segments", w("segments"), _segments(inputs.profile, w)),
            section(
                "importance",
                w("importance"),
                _importance(inputs.importance, inputs.feature_labels, w, chart),
            ),
            section("quality", w("quality"), _quality(inputs.quality, w)),
        ]
    )
    lang = {"zh": "zh-CN", "en": "en", "both": "zh-CN"}.get(w.language, "zh-CN")
    title = f"{w('title')} · {w('as_of')} {inputs.as_of}"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="sub">{html.escape(w("policy"))}: <b>{html.escape(w.name(inputs.primary))}</b></p>
<div class="part">{html.escape(w("business"))}</div>
{business}
<div class="part">{html.escape(w("analysts"))}</div>
{analysts}
</body></html>
"""
