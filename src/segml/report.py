"""A single self-contained HTML report (plots embedded as PNG data URIs; opens offline)."""

from __future__ import annotations

import base64
import html
import io as _bytes_io
from dataclasses import dataclass

import numpy as np
import pandas as pd

SECTIONS = {
    "tiers": "Tier sizes and value share 等级规模与价值占比",
    "matrix": "Value x potential 价值潜力矩阵",
    "segments": "Segment profiles 客户细分画像",
    "churn": "Churn model: calibration and lift vs baseline 流失模型：校准与提升",
    "value": "Future value deciles 未来价值十分位",
    "importance": "Feature importance 特征重要性",
    "movement": "Movement since the previous run 等级变动",
    "quality": "Data quality 数据质量",
    "models": "Model quality vs baselines 模型效果与基准",
}


@dataclass(frozen=True)
class ReportInputs:
    table: pd.DataFrame
    summary: pd.DataFrame
    movement: dict
    metrics: pd.DataFrame
    grades: dict  # target -> summary dict (grade, best_baseline, beats_baseline)
    profile: pd.DataFrame
    plots: dict[str, pd.DataFrame]  # calibration, deciles, lift
    importance: pd.DataFrame  # model, feature, gain
    quality: dict
    as_of: str
    primary: str


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


def _img(png: bytes, alt: str) -> str:
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def _table(frame: pd.DataFrame, digits: int = 3) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:,.{digits}f}", border=0, classes="t", escape=True)


def plot_tiers(summary: pd.DataFrame, table: pd.DataFrame) -> bytes:
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.8))
    x = np.arange(len(summary))
    a.bar(x - 0.2, summary["customer_share"], 0.4, label="share of customers")
    a.bar(x + 0.2, summary["value_share"], 0.4, label="share of value")
    a.set_xticks(x, summary["tier"].astype(str))
    a.set_title("Tier sizes and value share")
    a.legend()
    v = np.sort(table["current_value"].clip(lower=0).to_numpy())[::-1]
    if v.sum() > 0:
        b.plot(np.arange(1, len(v) + 1) / len(v), np.cumsum(v) / v.sum())
    b.plot([0, 1], [0, 1], ls=":", color="grey")
    b.set_xlabel("share of customers (best first)")
    b.set_ylabel("cumulative share of value")
    b.set_title("Pareto curve")
    return _png(fig)


def plot_matrix(table: pd.DataFrame, levels: list[str]) -> bytes:
    plt = _pyplot()
    counts = pd.crosstab(pd.Categorical(table["value_level"], categories=levels[::-1]),
                         pd.Categorical(table["potential_level"], categories=levels), dropna=False)
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    im = ax.imshow(counts.to_numpy(), cmap="Blues")
    ax.set_xticks(range(len(levels)), levels)
    ax.set_yticks(range(len(levels)), levels[::-1])
    ax.set_xlabel("predicted future value (potential)")
    ax.set_ylabel("current value")
    for i in range(len(levels)):
        for j in range(len(levels)):
            ax.text(j, i, f"{counts.iat[i, j]:,}", ha="center", va="center")
    fig.colorbar(im)
    ax.set_title("Customers per value x potential cell")
    return _png(fig)


def plot_segments(profile: pd.DataFrame) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(profile) + 1))
    ax.barh(profile["persona_en"].astype(str)[::-1], profile["customers"][::-1])
    ax.set_title("Customers per segment")
    return _png(fig)


def plot_churn(calibration: pd.DataFrame, lift: pd.DataFrame) -> bytes:
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


def _has_cjk_font() -> bool:
    plt = _pyplot()
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    wanted = [n for n in ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei")
              if n in names]
    if wanted:
        plt.rcParams["font.sans-serif"] = [wanted[0], *plt.rcParams["font.sans-serif"]]
    return bool(wanted)


def top_importance(importance: pd.DataFrame, top: int = 12) -> pd.DataFrame:
    return (importance.sort_values(["model", "gain", "feature"], ascending=[True, False, True])
            .groupby("model").head(top).reset_index(drop=True))


def plot_importance(importance: pd.DataFrame, top: int = 12) -> bytes:
    plt = _pyplot()
    models = sorted(importance["model"].unique())
    cjk = _has_cjk_font()
    fig, axes = plt.subplots(len(models), 1, figsize=(8, 4 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models):
        part = top_importance(importance[importance["model"] == model], top).iloc[::-1]
        labels = part["feature"] if cjk else part["feature"].str.replace(r"[^\x00-\x7f]", "?", regex=True)
        ax.barh(labels, part["gain"])
        ax.set_title(f"{model}: gain importance (names in full in the table below)")
    fig.tight_layout()
    return _png(fig)


def render(inputs: ReportInputs, levels: list[str]) -> str:
    """The report as one HTML string with every section, even when a part has no data yet."""
    def grade_line(target: str) -> str:
        g = inputs.grades.get(target, {})
        verdict = ("beats its best baseline" if g.get("beats_baseline")
                   else "<b class='warn'>does NOT beat its best baseline</b>")
        return (f"<p><b>{target}</b>: grade <b>{g.get('grade')}</b>, {verdict} "
                f"({html.escape(str(g.get('best_baseline')))}, margin {g.get('margin_over_best_baseline', float('nan')):+.3f}).</p>")

    move = inputs.movement
    if move.get("available"):
        movement = (f"<p>Customers who kept their tier: <b>{move['kept_share']:.1%}</b>; upgrades: "
                    f"{len(move['upgrades']):,}; downgrades: {len(move['downgrades']):,}.</p>" + _table(move["matrix"], 0))
    else:
        movement = "<p>No previous run to compare with yet. 暂无上期结果可比较。</p>"
    q = inputs.quality
    reasons = "".join(f"<li>{html.escape(k)}: {v:,}</li>" for k, v in q.get("rejected_by_reason", {}).items())
    quality = (f"<p>Rows read {q.get('rows_read', 0):,}; clean {q.get('rows_clean', 0):,}; rejected "
               f"{q.get('rows_rejected', 0):,} ({q.get('rejected_share', 0):.2%}). Period {q.get('first_date')} to "
               f"{q.get('last_date')}.</p><ul>{reasons}</ul>")
    body = {
        "tiers": _img(plot_tiers(inputs.summary, inputs.table), "tiers") + _table(inputs.summary),
        "matrix": _img(plot_matrix(inputs.table, levels), "value x potential"),
        "segments": _img(plot_segments(inputs.profile), "segments") + _table(inputs.profile, 1),
        "churn": _img(plot_churn(inputs.plots["calibration"], inputs.plots["lift"]), "churn"),
        "value": _img(plot_deciles(inputs.plots["deciles"]), "deciles") + _table(inputs.plots["deciles"], 1),
        "importance": _img(plot_importance(inputs.importance), "importance")
        + _table(top_importance(inputs.importance), 1),
        "movement": movement,
        "quality": quality,
        "models": grade_line("churn") + grade_line("upside") + "".join(
            _table(part.dropna(axis=1, how="all")) for _, part in inputs.metrics.groupby("target", sort=True)),
    }
    sections = "".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>{body[key]}</section>'
                       for key, title in SECTIONS.items())
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>segml customer tiers {html.escape(inputs.as_of)}</title>
<style>body{{font-family:sans-serif;max-width:1150px;margin:auto;padding:1em;color:#222}}
img{{max-width:100%}} table.t{{border-collapse:collapse;font-size:13px;margin:.5em 0}}
table.t td,table.t th{{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}}
.warn{{color:#b00}} section{{margin-bottom:2em}}</style></head>
<body><h1>Customer tiers 客户分级报告 — as of {html.escape(inputs.as_of)}</h1>
<p>Headline policy 主分级方法: <b>{html.escape(inputs.primary)}</b>; customers 客户数: {len(inputs.table):,}.</p>
{sections}</body></html>
"""
