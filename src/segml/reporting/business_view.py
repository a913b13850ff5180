"""The report's page one, for the CRM manager: key figures, tiers, lifecycle, RFM segments, who
moved and why, customers at risk, what each team should do, how the labels fit together."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from segml.reporting.call_list import call_list, value_words
from segml.reporting.charts import LIFECYCLE_COLOURS, PALETTE, Charts
from segml.reporting.html_table import html_table
from segml.reporting.text import (
    MISSING,
    Words,
    count,
    is_missing,
    money,
    move_reason,
    percent,
    tier_name,
    tier_names,
)

# the lifecycle statuses page one shows, in order (trial, won back, past due and cancelled:
# subscribers'); customers without a status of their own (prospects, rejected rows) are not shown
LIFECYCLE_SHOWN = ("trial", "new", "active", "won_back", "past_due", "at_risk", "lost", "cancelled")


def kpis_section(table: pd.DataFrame, w: Words) -> str:
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


def tiers_section(summary: pd.DataFrame, table: pd.DataFrame, w: Words, chart: Charts) -> str:
    import plotly.graph_objects as go

    names = tier_names(table, w)
    tiers = [tier_name(t, names, w) for t in summary["tier"]]
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
    return chart(fig) + html_table(shown, formats)


def _shown_statuses(table: pd.DataFrame) -> list[str]:
    status = table.get("lifecycle_status", pd.Series(dtype=object))
    return [s for s in LIFECYCLE_SHOWN if (status == s).any()]


def lifecycle_heading(table: pd.DataFrame, w: Words) -> str:
    """The lifecycle section's heading: the statuses its table holds, in each language ("Lifecycle:
    trial, new, active, past due, at risk"), so it never lists four of seven."""
    statuses = _shown_statuses(table)
    if not statuses:
        return w("lifecycle")
    names = {
        language: [w.headers.get(s, {}).get(language) or s.replace("_", " ") for s in statuses]
        for language in ("zh", "en")
    }
    listed = {
        "zh": "、".join(names["zh"]),
        "en": ", ".join(n[:1].lower() + n[1:] for n in names["en"]),
    }
    text = w.text("lifecycle_of")
    return w.pick({k: text[k].format(statuses=listed[k]) for k in ("zh", "en")})


def lifecycle_section(table: pd.DataFrame, w: Words, chart: Charts) -> str:
    import plotly.graph_objects as go

    if "lifecycle_status" not in table:
        return ""
    order = _shown_statuses(table)
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
    fig.update_layout(yaxis={"title": w.axis("customers"), "tickformat": ","})
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
    return chart(fig, 330) + html_table(shown, formats)


def rfm_section(table: pd.DataFrame, w: Words, chart: Charts) -> str:
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
            textfont={"size": 14},
        )
    )
    # a box too small for a readable label shows none (the table below names every segment)
    fig.update_layout(uniformtext={"minsize": 12, "mode": "hide"})

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
    return f"<p>{w.sentence('rfm_note')}</p>" + chart(fig, 420) + html_table(shown, formats)


def movement_section(move: dict, table: pd.DataFrame, w: Words, top: int = 15) -> str:
    """Who moved since the previous period (named): counts, the largest moves with their tier and
    value before and now and why, then new and gone customers apart from movers."""
    if not move.get("available"):
        return f"<p>{w.sentence('no_previous')}</p>"
    period = move.get("compared_with")
    counts = move.get("counts") or {}
    new, gone = move.get("new", pd.DataFrame()), move.get("gone", pd.DataFrame())
    figures = [
        f"<b>{percent(move['kept_share'])}</b> {html.escape(w('kept'))}",
        f"<b>{count(len(move['upgrades']))}</b> {html.escape(w('upgrades'))}",
        f"<b>{count(len(move['downgrades']))}</b> {html.escape(w('downgrades'))}",
        f"<b>{count(counts.get('new_customers', len(new)))}</b> {html.escape(w('new_graded'))}",
        f"<b>{count(counts.get('gone_customers', len(gone)))}</b> {html.escape(w('gone_graded'))}",
    ]
    out = (
        f"<p>{html.escape(w('compared_with'))}: <b>{html.escape(period)}</b></p>" if period else ""
    ) + f"<p>{' · '.join(figures)}</p>"
    names = tier_names(table, w)
    potential = bool(table.get("tier_policy", pd.Series(dtype=object)).eq("value_potential").any())
    movers = pd.concat([move["upgrades"], move["downgrades"]], ignore_index=True)
    if not movers.empty:
        before = movers.get("previous_value", pd.Series(np.nan, index=movers.index))
        movers = (
            movers.assign(change=(movers["current_value"] - before).abs().fillna(0))
            .sort_values(["change", "current_value", "customer_id"], ascending=[False, False, True])
            .head(top)
        )
        shown = pd.DataFrame(
            {
                w("customer"): movers["customer_id"].to_numpy(),
                w("from_to"): [
                    f"{tier_name(a, names, w)} → {tier_name(b, names, w)}"
                    for a, b in zip(movers["previous"], movers["current"])
                ],
                w("value_before_now"): [
                    f"{money(a)} → {money(b)}"
                    for a, b in zip(
                        movers.get("previous_value", [np.nan] * len(movers)),
                        movers["current_value"],
                    )
                ],
                w("why"): [move_reason(r, w, potential) for r in movers.to_dict("records")],
            }
        )
        out += f"<h3>{html.escape(w('biggest_moves'))}</h3>" + html_table(shown, wide={w("why")})
    if len(new):
        first = new.sort_values(["current_value", "customer_id"], ascending=[False, True]).head(5)
        shown = pd.DataFrame(
            {
                w("customer"): first["customer_id"].to_numpy(),
                w("tier_value"): [
                    f"{tier_name(t, names, w)} · {money(v)}"
                    for t, v in zip(first["current"], first["current_value"])
                ],
            }
        )
        out += f"<h3>{html.escape(w('new_list'))}</h3>" + html_table(shown)
    if len(gone):
        value = gone.get("previous_value", pd.Series(np.nan, index=gone.index))
        first = gone.assign(v=value).sort_values(["v", "customer_id"], ascending=[False, True])
        first = first.head(5)
        shown = pd.DataFrame(
            {
                w("customer"): first["customer_id"].to_numpy(),
                w("previous_tier_value"): [
                    f"{tier_name(t, names, w)} · {money(v)}"
                    for t, v in zip(first["previous"], first["v"])
                ],
            }
        )
        out += f"<h3>{html.escape(w('gone_list'))}</h3>" + html_table(shown)
    else:
        out += f"<p>{w.sentence('none_gone')}</p>"
    return out


def at_risk_section(table: pd.DataFrame, w: Words, cap: int | None = None, top: int = 15) -> str:
    """The call list's first `top` rows (`call_list`, as on the workbook's first sheet): at-risk
    customers, the most value at stake first."""
    calls = call_list(table, cap)
    chosen = calls.rows.head(top)
    if chosen.empty:
        return ""
    names = tier_names(table, w)

    def text(stem: str, reasons: bool = False):
        if f"{stem}_en" not in chosen and f"{stem}_zh" not in chosen:
            return ""
        return (w.reasons if reasons else w.column)(chosen, stem).to_numpy()

    # eight columns, so the table fits the page at 1400 px in both languages: the band with the
    # probability, the last purchase with the next one expected, the action with its team
    bands = chosen.get("churn_band", pd.Series(None, index=chosen.index))
    risk = [
        " · ".join(
            part
            for part in (
                "" if is_missing(b) else w.name(f"band_{b}"),
                percent(p, 0) if not is_missing(p) else "",
            )
            if part
        )
        or MISSING
        for b, p in zip(bands, chosen["churn_probability"])
    ]
    last = chosen.get("last_purchase_date", pd.Series(None, index=chosen.index))
    dates, date_head = [MISSING if is_missing(d) else d for d in last], "last_purchase_date"
    if "expected_next_purchase_date" in chosen:  # an empty date: none expected in the window
        dates = [
            f"{a} → {w('none_expected') if is_missing(b) else b}"
            for a, b in zip(dates, chosen["expected_next_purchase_date"])
        ]
        date_head = "last_and_next"
    actions, teams = text("lifecycle_action"), text("lifecycle_action_team")
    purchases = "last_purchase_date" in chosen or "expected_next_purchase_date" in chosen
    shown = pd.DataFrame(
        {
            w.name("rank"): chosen["rank"].to_numpy(),
            w("customer"): chosen["customer_id"].to_numpy(),
            w("tier"): [tier_name(t, names, w) for t in chosen["tier"]],
            w.name("churn_band"): risk,
            w.name("value_at_stake"): chosen["value_at_stake"].to_numpy(),
            # subscribers have no purchase dates
            **(
                {w.name(date_head) if date_head != "last_and_next" else w(date_head): dates}
                if purchases
                else {}
            ),
            w("why"): text("churn_reasons", reasons=True),
            w("action_team"): [f"{a}\n({b})" for a, b in zip(actions, teams)]
            if len(actions) and len(teams)
            else actions,
        }
    )
    formats = {w.name("rank"): count, w.name("value_at_stake"): money}
    note = w.sentence(
        "at_risk_note" + value_words(table),
        shown=count(len(chosen)),
        listed=count(len(calls.rows)),
        at_risk=count(calls.at_risk),
    )
    return f"<p>{note}</p>" + html_table(shown, formats, {w("why")})


def _team_table(table: pd.DataFrame, prefix: str, w: Words) -> str:
    """Customers and value per team and action; the heading's count is the table's total (a
    customer without a tier has no tier action and is not counted by tier)."""
    has = table[f"{prefix}_en"].notna() & (table[f"{prefix}_en"].astype(str).str.strip() != "")
    table = table[has.to_numpy()]
    frame = pd.DataFrame(
        {
            "team": w.column(table, f"{prefix}_team"),
            "action": w.column(table, prefix),
            "value": table["current_value"].clip(lower=0),
        }
    )
    frame = frame[frame["action"].str.strip() != ""]
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
    heading = w(
        "by_tier" if prefix == "action" else "by_lifecycle", n=count(grouped["customers"].sum())
    )
    return f"<h3>{html.escape(heading)}</h3>" + html_table(
        shown, {w.name("customers"): count, w("value_12m"): money}, {w("action")}
    )


def teams_section(table: pd.DataFrame, w: Words) -> str:
    """What each team does: by the customer's tier, and by their lifecycle; each table counts every
    customer once, so a customer appears once in each."""
    parts = [
        _team_table(table, prefix, w)
        for prefix in ("action", "lifecycle_action")
        if f"{prefix}_team_en" in table and f"{prefix}_en" in table
    ]
    if not parts:
        return ""
    return f"<p>{w.sentence('teams_note')}</p>" + "".join(parts)


def labels_section(table: pd.DataFrame, w: Words) -> str:
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
