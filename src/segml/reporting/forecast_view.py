"""The forecast, for analysts and planners: what the next churn window's revenue adds up to, how far
the total was off in the backtest (per fold and potential level, raw and corrected), the value
ranges and how often they held, and the next purchase dates and how often they came true. The
report's section and the workbook's `forecast` sheet are built from the same tables here."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from segml.reporting.call_list import recurring
from segml.reporting.charts import PALETTE, Charts
from segml.reporting.html_table import html_table
from segml.reporting.text import MISSING, Words, count, decimal, is_missing, money, percent

TIER_LEVELS = ("high", "mid", "low")  # potential levels, as `segml.models.totals.TIERS`


def fold_table(forecast: dict | None, next_purchase: dict | None) -> pd.DataFrame:
    """One row per backtest fold: the forecast's total over the realized one (raw, corrected, per
    potential level), the range's coverage, and how the next purchase dates did."""
    folds = (forecast or {}).get("folds", {})
    dated = (next_purchase or {}).get("folds", {})
    cutoffs = {**(next_purchase or {}).get("cutoffs", {}), **(forecast or {}).get("cutoffs", {})}
    rows = []
    for key in dict.fromkeys([*folds, *dated]):
        row = {"fold": key, "fold_cutoff": cutoffs.get(key, "")}
        row.update(folds.get(key, {}))
        row.update(dated.get(key, {}))
        rows.append(row)
    return pd.DataFrame(rows)


def tier_totals(table: pd.DataFrame) -> pd.DataFrame:
    """Per headline tier: customers, the forecast's total and who is expected to buy (purchases:
    subscribers pay their fees without buying again)."""
    rated = table[table["tier"].notna()] if "tier" in table else table
    if "predicted_value" not in rated or rated.empty:
        return pd.DataFrame()
    grouped = rated.groupby("tier", sort=True)
    out = pd.DataFrame(
        {"customers": grouped.size(), "predicted_value": grouped["predicted_value"].sum()}
    )
    if not recurring(rated):
        out["next_purchase_expected"] = (
            grouped["expected_next_purchase_date"].count()
            if "expected_next_purchase_date" in rated
            else 0
        )
    return out.rename_axis("tier").reset_index()


def _ratio(value) -> str:
    """0.93 -> "0.93 (7 % low)"; 1.05 -> "1.05 (5 % high)"."""
    if is_missing(value):
        return MISSING
    off = (value - 1) * 100
    return f"{value:.2f}" + (
        "" if abs(off) < 0.5 else f" ({abs(off):.0f} % {'high' if off > 0 else 'low'})"
    )


def _ratio_zh(value) -> str:
    if is_missing(value):
        return MISSING
    off = (value - 1) * 100
    return f"{value:.2f}" + (
        "" if abs(off) < 0.5 else f"（{'偏高' if off > 0 else '偏低'}{abs(off):.0f}%）"
    )


def forecast_section(
    table: pd.DataFrame,
    forecast: dict | None,
    next_purchase: dict | None,
    horizon_days: int | None,
    w: Words,
    chart: Charts,
) -> str:
    """The report's forecast: totals, ranges and next purchase dates, each with its backtest."""
    if not forecast and not next_purchase:
        return f"<p>{w.sentence('no_forecast')}</p>"
    h = horizon_days or 0
    rated = table[table["tier"].notna()] if "tier" in table else table
    out = []
    if "predicted_value" in rated:
        out.append(
            "<p>"
            + w.sentence(
                "forecast_headline",
                days=h,
                total=money(rated["predicted_value"].sum()),
                customers=count(len(rated)),
            )
            + "</p>"
        )
    folds = fold_table(forecast, next_purchase)
    if forecast and not folds.empty and "total_ratio" in folds:
        warn = "" if forecast.get("within_10_percent") else ' class="grade warn"'
        words = w.pick(
            {"en": forecast.get("total_error_en"), "zh": forecast.get("total_error_zh")}, "<br>"
        )
        key = "total_within" if forecast.get("within_10_percent") else "total_outside"
        if forecast.get("applied") and "total_ratio_calibrated" in folds:
            key += "_corrected"  # judged on the corrected column, as the forecast is corrected
        out.append(
            f"<p{warn}>{w.sentence(key)} {html.escape(words).replace('&lt;br&gt;', '<br>')}</p>"
        )
        out.append(_totals_chart(folds, w, chart) + html_table(_totals_table(folds, forecast, w)))
    if forecast and "coverage" in folds:
        out.append(_ranges(rated, folds, forecast, w))
    if next_purchase and "date_share" in folds:
        out.append(_dates(rated, folds, h, w))
    return "".join(out)


def _totals_table(folds: pd.DataFrame, forecast: dict, w: Words) -> pd.DataFrame:
    corrected = "total_ratio_calibrated" in folds
    ratio = _ratio_zh if w.language == "zh" else _ratio
    shown = pd.DataFrame({w("fold"): folds["fold_cutoff"].to_numpy()})
    shown[w("total_raw")] = folds["total_ratio"].map(ratio).to_numpy()
    if corrected:
        shown[w("total_corrected")] = folds["total_ratio_calibrated"].map(ratio).to_numpy()
    suffix = "_calibrated" if corrected and forecast.get("applied") else ""
    for level in TIER_LEVELS:
        plain = folds.get(f"total_ratio_{level}")
        if plain is None:
            continue
        values = folds.get(f"total_ratio_{level}{suffix}", plain).fillna(plain)
        shown[w(f"total_{level}")] = values.map(ratio).to_numpy()
    return shown


def _totals_chart(folds: pd.DataFrame, w: Words, chart: Charts) -> str:
    import plotly.graph_objects as go

    fig = go.Figure()
    x = folds["fold_cutoff"].astype(str)
    fig.add_hrect(y0=0.9, y1=1.1, fillcolor="#59a14f", opacity=0.08, line_width=0)
    fig.add_hline(y=1.0, line_dash="dot", line_color="#999999")
    for i, (column, name) in enumerate(
        (("total_ratio", w("total_raw")), ("total_ratio_calibrated", w("total_corrected")))
    ):
        if column in folds:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=folds[column],
                    name=name,
                    mode="lines+markers",
                    line={"color": PALETTE[i]},
                    hovertemplate="%{x}: %{y:.2f}<extra></extra>",
                )
            )
    fig.update_layout(
        title=w("total_chart"), yaxis={"tickformat": ".2f"}, xaxis={"type": "category"}
    )
    return chart(fig, 300)


def _span(values: pd.Series) -> str:
    values = values.dropna()
    if values.empty:
        return MISSING
    low, high = percent(values.min(), 0), percent(values.max(), 0)
    return low if low == high else f"{low}–{high}"


def _ranges(rated: pd.DataFrame, folds: pd.DataFrame, forecast: dict, w: Words) -> str:
    level = forecast.get("level") or 0.8
    starts_at_zero = (
        float((rated["predicted_value_p10"] <= 0).mean())
        if "predicted_value_p10" in rated and rated["predicted_value_p10"].notna().any()
        else float("nan")
    )
    held, floor = folds["coverage"], folds.get("coverage_floor", pd.Series(dtype=float))
    inside = bool(((held - level).abs() <= 0.05).all())
    text = w.sentence(
        "ranges_note",
        level=percent(level, 0),
        zero=percent(starts_at_zero, 0),
        held=_span(held),
        floor=_span(floor),
    )
    if not inside:
        text += " " + w.sentence("ranges_outside", level=percent(level, 0))
    shown = pd.DataFrame(
        {
            w("fold"): folds["fold_cutoff"].to_numpy(),
            w("range_held"): held.to_numpy(),
            w("range_floor"): floor.reindex(folds.index).to_numpy() if len(floor) else np.nan,
            w("range_from_zero"): folds.get(
                "p10_zero_share", pd.Series(np.nan, index=folds.index)
            ).to_numpy(),
        }
    )
    formats = {c: percent for c in shown.columns[1:]}
    return f"<h3>{html.escape(w('ranges'))}</h3><p>{text}</p>" + html_table(shown, formats)


def _dates(rated: pd.DataFrame, folds: pd.DataFrame, h: int, w: Words) -> str:
    source = rated.get("next_purchase_source", pd.Series(dtype=object))
    text = w.sentence(
        "dates_note",
        days=h,
        dated=count((source != "none_expected").sum() if len(source) else 0),
        undated=count((source == "none_expected").sum() if len(source) else 0),
        date_right=_span(folds["date_right"]),
        none_right=_span(folds["none_right"]),
    )
    if "date_error_days" in folds and folds["date_error_days"].notna().any():
        text += " " + w.sentence(
            "dates_error",
            mean=decimal(folds["date_error_days"].mean(), 0),
            median=decimal(folds["date_error_median_days"].mean(), 0),
        )
    shown = pd.DataFrame(
        {
            w("fold"): folds["fold_cutoff"].to_numpy(),
            w("date_share"): folds["date_share"].to_numpy(),
            w("date_right"): folds["date_right"].to_numpy(),
            w("none_right"): folds["none_right"].to_numpy(),
        }
    )
    formats = {c: percent for c in shown.columns[1:]}
    if "date_error_days" in folds:
        shown[w("date_error")] = folds["date_error_days"].to_numpy()
        formats[w("date_error")] = lambda v: decimal(v, 0)
    return f"<h3>{html.escape(w('dates'))}</h3><p>{text}</p>" + html_table(shown, formats)


def workbook_blocks(
    table: pd.DataFrame,
    forecast: dict | None,
    next_purchase: dict | None,
    language: str,
    parts: dict[str, tuple[dict | None, dict | None]] | None = None,
) -> list[tuple[str | None, pd.DataFrame]]:
    """The workbook's `forecast` sheet: (title key or None, frame) blocks. The forecast per tier,
    the total's error in words, and the backtest per fold; one line when nothing was forecast.
    `parts` (`data.kind: both`: each part's forecast and next purchase records): the tiers over
    the whole table, then each part's error and folds under the part's name."""
    if parts:
        tiers = tier_totals(table)
        blocks = [("title_forecast_tiers", tiers)] if not tiers.empty else []
        for name, (part_forecast, part_dates) in parts.items():
            blocks += _backtest_blocks(part_forecast, part_dates, language, f"part_{name}")
        return blocks or [(None, pd.DataFrame({"note": ["no_forecast"]}))]
    if not forecast and not next_purchase:
        return [(None, pd.DataFrame({"note": ["no_forecast"]}))]
    blocks: list[tuple[str | None, pd.DataFrame]] = []
    tiers = tier_totals(table)
    if not tiers.empty:
        blocks.append(("title_forecast_tiers", tiers))
    return blocks + _backtest_blocks(forecast, next_purchase, language)


def _backtest_blocks(
    forecast: dict | None, next_purchase: dict | None, language: str, title: str | None = None
) -> list[tuple[str | None, pd.DataFrame]]:
    """The total's error in words and the backtest per fold (`title`: the first block's)."""
    blocks: list[tuple[str | None, pd.DataFrame]] = []
    if forecast:
        words = {"en": forecast.get("total_error_en"), "zh": forecast.get("total_error_zh")}
        text = f"{words['zh']} / {words['en']}" if language == "both" else words.get(language) or ""
        blocks.append((title, pd.DataFrame({"note": [text]})))
    folds = fold_table(forecast, next_purchase)
    if not folds.empty:
        blocks.append(("title_forecast_backtest", folds.drop(columns=["fold"])))
    if title and blocks and blocks[0][0] != title:  # no error words: the folds carry the name
        blocks[0] = (title, blocks[0][1])
    return blocks
