"""The report's model-quality part, for analysts: grades, backtest, validation, calibration and
gains, value deciles, BG/NBD matrices, segment profiles, feature importance, data quality."""

from __future__ import annotations

import html
import math

import numpy as np
import pandas as pd

from segml.reporting.charts import PALETTE, Charts
from segml.reporting.html_table import html_table
from segml.reporting.text import (
    MISSING,
    REJECTIONS,
    Words,
    count,
    decimal,
    money,
    percent,
)


def verdict_line(target: str, grade: dict, w: Words) -> str:
    """The one-line verdict: the lead's sentences when present, else built from the grade."""
    if grade.get("verdict_en") or grade.get("verdict_zh"):
        text = w.pick({"en": grade.get("verdict_en"), "zh": grade.get("verdict_zh")}, " / ")
    else:
        beats = grade.get("beats_baseline")
        margin = grade.get("margin_over_best_baseline")
        best = w.scorer(target, grade["best_baseline"]) if grade.get("best_baseline") else ""
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
        line += f"<br>{html.escape(w('scored_with'))}: <b>{html.escape(w.scorer(target, grade['scorer']))}</b>"
        line += f" — {html.escape(reason)}" if reason else ""
    return line + "</p>"


def models_line(model_set: dict | None, as_of: str, w: Words) -> str:
    """Which models scored: the registered set `segml score` loaded (version and the period it
    was trained on), or this run's own."""
    text = (
        w.pick({"en": model_set.get("en"), "zh": model_set.get("zh")}, " / ")
        if model_set
        else w("models_this_run", as_of=as_of)
    )
    return f"<p>{html.escape(w('models_used'))}: <b>{html.escape(text)}</b></p>"


# measures where a lower value is better (the others: higher is better)
LOWER_IS_BETTER = {"brier", "log_loss", "mae", "rmse", "mape"}
# measures in money (¥): whole yuan, never three decimals
MONEY_MEASURES = {"mae", "rmse"}
# the backtest's blend of model and best baseline (segml.models.backtest.BLEND; not imported so
# that the export stage does not depend on the backtest's code)
BLEND = "blend"


def _margin(means: dict, metric: str) -> str:
    """The model's mean against the best baseline's, signed so that + is better: "+0.007". The
    blend (model and best baseline mixed) is no baseline: it is left out."""
    baselines = [v for k, v in means.items() if k not in ("model", BLEND)]
    if "model" not in means or not baselines:
        return MISSING
    lower = metric in LOWER_IS_BETTER
    best = min(baselines) if lower else max(baselines)
    margin = (best - means["model"]) if lower else (means["model"] - best)
    return f"{margin:+,.0f}" if metric in MONEY_MEASURES else f"{margin:+.3f}"


def backtest_section(backtest: pd.DataFrame | None, w: Words, chart: Charts) -> str:
    import plotly.graph_objects as go

    if backtest is not None:  # the forecast's rows have their own section
        backtest = backtest[backtest["target"] != "forecast"]
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
            means = {}
            for scorer in scorers:
                hit = stats[(stats["metric"] == metric) & (stats["scorer"] == scorer)]
                if not hit.empty:
                    means[scorer] = hit["mean"].iloc[0]
                # three decimals: a margin of +0.007 must not read as 0.90 against 0.90; money
                # in whole yuan
                digits = 0 if metric in MONEY_MEASURES else 3
                row[w.scorer(target, scorer)] = (
                    MISSING
                    if hit.empty
                    else f"{decimal(hit['mean'].iloc[0], digits)} ± "
                    f"{decimal(hit['std'].fillna(0).iloc[0], digits)}"
                )
            row[w("margin")] = _margin(means, metric)
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
                    name=w.scorer(target, scorer),
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
        out.append(chart(fig, 320) + html_table(pd.DataFrame(rows)))
    return "".join(out)


def validation_section(metrics: pd.DataFrame, w: Words) -> str:
    out = []
    if metrics is None or metrics.empty or "target" not in metrics:
        return ""
    for target, part in metrics.groupby("target", sort=True):
        part = part.dropna(axis=1, how="all")
        skip = ("target", "grade", "beats_baseline", "best_iteration", "in_production")
        columns = [
            c
            for c in part.columns
            if c not in skip
            and pd.api.types.is_numeric_dtype(part[c])
            and not pd.api.types.is_bool_dtype(part[c])
        ]
        shown = pd.DataFrame(
            {
                w.name("scorer"): part.get("scorer", pd.Series("", index=part.index)).map(
                    lambda s, t=target: w.scorer(t, s)
                )
            }
        )
        if "in_production" in part:  # yes / no, never 0.00 / 1.00
            shown[w.name("in_production")] = [
                w.name("yes") if v is True or v == 1 else w.name("no")
                for v in part["in_production"]
            ]
        formats = {}
        for column in columns:
            header = w.name(column)
            shown[header] = part[column].to_numpy()
            formats[header] = (
                (lambda v: decimal(v, 0)) if column in ("best_n_days", *MONEY_MEASURES) else decimal
            )
        out.append(f"<h3>{html.escape(w.target(target))}</h3>" + html_table(shown, formats))
    return "".join(out)


def calibration_section(plots: dict, w: Words, chart: Charts) -> str:
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
            legendgroup="model",
            showlegend=False,  # the gains panel's model line names it once, in the same colour
        ),
        1,
        1,
    )
    baselines = sorted(s for s in lift["scorer"].unique() if s != "model")
    for scorer, part in lift.groupby("scorer", sort=True):
        colour = PALETTE[0] if scorer == "model" else PALETTE[1 + baselines.index(scorer)]
        fig.add_trace(
            go.Scatter(
                x=part["share_contacted"],
                y=part["share_churners_caught"],
                name=w.name(scorer),
                mode="lines",
                line={"color": colour},
                hovertemplate="%{x:.0%} → %{y:.0%}<extra></extra>",
                legendgroup=scorer,
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
    fig.update_xaxes(title_text=w.axis("predicted_churn"), row=1, col=1)
    fig.update_yaxes(title_text=w.axis("observed_churn"), row=1, col=1)
    fig.update_xaxes(title_text=w.axis("contacted"), row=1, col=2)
    fig.update_yaxes(title_text=w.axis("caught"), row=1, col=2)
    return chart(fig, 420)


def deciles_section(deciles: pd.DataFrame | None, w: Words, chart: Charts) -> str:
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
        xaxis={"title": w.axis("decile"), "dtick": 1},
        yaxis={"title": w.axis("mean_spend"), "tickformat": ",.0f"},
    )
    shown = pd.DataFrame(
        {
            w("decile"): deciles["decile"],
            w.name("customers"): deciles.get("customers", np.nan),
            w("predicted"): deciles["mean_predicted"],
            w("actual"): deciles["mean_actual"],
        }
    )
    return chart(fig) + html_table(
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


def matrices_section(features: pd.DataFrame | None, w: Words, chart: Charts) -> str:
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
        fig.update_xaxes(title_text=w.axis("days_since"), row=1, col=col)
        fig.update_yaxes(title_text=w.axis("repeat_purchases"), row=1, col=col)
    return chart(fig, 420) + f"<p>{w.sentence('matrices_note')}</p>"


# a typed attribute's profile column said after its name: a mean, or the share of yes
_AFTER = {
    "mean": {"en": " (mean)", "zh": "（均值）"},
    "share": {"en": " (share yes)", "zh": "（是的占比）"},
}


def segments_section(profile: pd.DataFrame, w: Words, names: dict | None = None) -> str:
    """The segments' sizes and mean behaviour, then their typed customer attributes (a mean, or
    the share of yes), headed by the attributes' own words (`names`: feature -> {en, zh})."""
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
    for column in profile.columns:
        how, _, feature = column.partition("_")
        if how in ("mean", "share") and feature.startswith("attr_"):
            said = (names or {}).get(feature, {})
            after = _AFTER[how]
            header = w.pick({k: said[k] + after[k] for k in after if said.get(k)})
            header = header or w("other_feature")
            shown[header] = profile[column]
            formats[header] = percent if how == "share" else (lambda v: decimal(v, 1))
    return html_table(shown, formats)


def importance_section(
    importance: pd.DataFrame, names: dict | None, w: Words, chart: Charts, top: int = 12
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
        labels = [
            w.pick((names or {}).get(f, {}), "<br>") or w("other_feature") for f in part["feature"]
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
        fig.update_xaxes(tickformat=".0%", title_text=w.axis("gain"), row=1, col=col)
    return chart(fig, 80 + (44 if w.language == "both" else 30) * top)


def quality_section(quality: dict, w: Words) -> str:
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
    # input rows = clean + rejected + skipped + after the period: the last two when there are any
    facts += [
        (w(key), count(q.get(key)))
        for key in ("rows_skipped", "rows_after_period", "input_files")
        if (q.get(key) or 0) > (1 if key == "input_files" else 0)
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
        text += html_table(shown, {w("rows"): count})
    return text
