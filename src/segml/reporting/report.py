"""The report: one self-contained HTML file a CRM manager reads first, analysts read on.

This module lays the page out: page one is the business view (`business_view`), model quality
follows (`model_quality`). Charts are Plotly with plotly.js embedded once (`charts`), so the file
opens offline; text comes in `export.language` (`text`). The static PNG plots for DVC are
`plots`, apart from all of this.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from segml.config import ExportConfig
from segml.reporting import audit_view, business_view, forecast_view, model_quality, window_view
from segml.reporting.call_list import recurring
from segml.reporting.charts import FONT, Charts
from segml.reporting.contract_tenure import contract_tenure_section
from segml.reporting.text import Words, tier_names

# page one in the order a CRM manager reads it (notes/phase2.md), then the audit, then analysts
SECTIONS = [
    "kpis",
    "at-risk",
    "tiers",
    "lifecycle",
    "teams",
    "movement",
    "rfm",
    "labels",
    "audit",
    "grades",
    "backtest",
    "validation",
    "forecast",
    "window",
    "calibration",
    "deciles",
    "matrices",
    "segments",
    "importance",
    "quality",
]


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, from the stages' results (see `exports.report_inputs`)."""

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
    # the value forecast's totals and ranges and the next purchase dates in the backtest
    # (metrics `upside.forecast`, `churn.next_purchase`), and the churn window in days
    forecast: dict | None = None
    next_purchase: dict | None = None
    horizon_days: int | None = None
    # the churn window study of `segml window`, when it was run
    window: dict | None = None
    # metrics/audit_details.json: did earlier periods' grades come true? (absent: the section says so)
    audit: dict | None = None
    # the models that scored: a registered set's record (`segml score`), else this run's
    model_set: dict | None = None


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


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>' if body else ""


def _business(inputs: ReportInputs, w: Words, chart: Charts, cap: int | None = None) -> str:
    """Page one, in the order a CRM manager reads it (`SECTIONS`)."""
    table = inputs.table
    return "".join(
        [
            f'<section id="kpis">{business_view.kpis_section(table, w)}</section>',
            _section("at-risk", w("at_risk"), business_view.at_risk_section(table, w, cap)),
            '<div class="grid">',
            _section(
                "tiers", w("tiers"), business_view.tiers_section(inputs.summary, table, w, chart)
            ),
            _section(
                "lifecycle",
                business_view.lifecycle_heading(table, w),
                business_view.lifecycle_section(table, w, chart),
            ),
            "</div>",
            _section("teams", w("teams"), business_view.teams_section(table, w)),
            _section(
                "movement", w("movement"), business_view.movement_section(inputs.movement, table, w)
            ),
            _section("rfm", w("rfm"), business_view.rfm_section(table, w, chart)),
            _section("labels", w("labels"), business_view.labels_section(table, w)),
        ]
    )


def _analysts(inputs: ReportInputs, w: Words, chart: Charts) -> str:
    """Model quality and data quality, after page one."""
    grades = "".join(model_quality.verdict_line(t, g, w) for t, g in sorted(inputs.grades.items()))
    grades += model_quality.models_line(inputs.model_set, inputs.as_of, w)
    return "".join(
        [
            _section("grades", w("grades"), grades),
            _section(
                "backtest", w("backtest"), model_quality.backtest_section(inputs.backtest, w, chart)
            ),
            _section(
                "validation", w("validation"), model_quality.validation_section(inputs.metrics, w)
            ),
            _section(
                "forecast",
                w("forecast"),
                forecast_view.forecast_section(
                    inputs.table,
                    inputs.forecast,
                    inputs.next_purchase,
                    inputs.horizon_days,
                    w,
                    chart,
                ),
            ),
            _section(
                "window",
                w("window"),
                window_view.window_section(inputs.window, inputs.as_of, inputs.horizon_days, w),
            ),
            _section(
                "calibration",
                w("churn_quality"),
                model_quality.calibration_section(inputs.plots, w, chart),
            ),
            _section(
                "deciles",
                w("deciles"),
                model_quality.deciles_section(inputs.plots.get("deciles"), w, chart),
            ),
            _section(  # subscribers have no frequency or recency of purchase: contract x tenure
                "matrices",
                w("matrices"),
                model_quality.matrices_section(inputs.features, w, chart)
                if not recurring(inputs.table)
                else contract_tenure_section(inputs.table, w),
            ),
            _section(
                "segments",
                w("segments"),
                model_quality.segments_section(inputs.profile, w, inputs.feature_labels),
            ),
            _section(
                "importance",
                w("importance"),
                model_quality.importance_section(
                    inputs.importance, inputs.feature_labels, w, chart
                ),
            ),
            _section("quality", w("quality"), model_quality.quality_section(inputs.quality, w)),
        ]
    )


def _parts(parts: dict[str, ReportInputs], cfg: ExportConfig, w: Words, chart: Charts) -> str:
    """Model quality of each part of a `data.kind: both` table, under its heading, in its kind's
    words (subscribers: contract x tenure where buyers have frequency x recency)."""
    return "".join(
        f"<h2>{html.escape(w.name(f'part_{name}'))}</h2>"
        + _analysts(part, Words(cfg, recurring(part.table)), chart)
        for name, part in parts.items()
    )


def render(
    inputs: ReportInputs,
    levels: list[str] | None = None,
    cfg: ExportConfig | None = None,
    parts: dict[str, ReportInputs] | None = None,
) -> str:
    """The report as one HTML string; a part with no data says so instead of failing. `parts`:
    each part's inputs (`data.kind: both`), whose model quality follows page one part by part."""
    cfg = cfg or ExportConfig()
    w = Words(cfg, recurring(inputs.table))
    chart = Charts()  # page one first: the first chart carries plotly.js
    business = _business(inputs, w, chart, cfg.call_list_customers)
    analysts = _parts(parts, cfg, w, chart) if parts else _analysts(inputs, w, chart)
    lang = {"zh": "zh-CN", "en": "en", "both": "zh-CN"}.get(w.language, "zh-CN")
    title = f"{w('title')} · {w('as_of')} {inputs.as_of}"
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body><h1>{html.escape(title)}</h1>
<p class="sub">{html.escape(w("policy"))}: <b>{html.escape(w.name(inputs.primary))}</b></p>
<div class="part">{html.escape(w("business"))}</div>
{business}
{_section("audit", w("audit"), audit_view.audit_section(inputs.audit, tier_names(inputs.table, w), w))}
<div class="part">{html.escape(w("analysts"))}</div>
{analysts}
</body></html>
"""
