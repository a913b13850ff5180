"""The report's audit section: did last period's grades come true? (from metrics/audit.json)

Purchases are said as "bought again" and spend; subscribers as "still subscribed", cancelled and
recurring revenue (`WORDS`, by the outcome the period measured: `tiering.audit.outcome_of`)."""

from __future__ import annotations

import html

import pandas as pd

from segml.reporting.audit_text import AUDIT_TEXT
from segml.reporting.html_table import html_table
from segml.reporting.text import Words, count, decimal, is_missing, money, percent, tier_name
from segml.tiering.audit_record import in_order, outcome_of, rate_key
from segml.tiering.realized import REPURCHASED, RETAINED, STAYED

# the text keys (reporting.audit_text) of each outcome's words
WORDS = {
    REPURCHASED: {
        "stayed": "audit_bought_again",
        "stayed_tier": "audit_bought_again_tier",
        "totals": "audit_predicted_realized",
        "churn": "audit_churn",
        "value": "audit_value",
        "note": "audit_note",
        "populations": "audit_populations",
    },
    RETAINED: {
        "stayed": "audit_still_subscribed",
        "stayed_tier": "audit_still_subscribed_tier",
        "totals": "audit_predicted_realized_subscribed",
        "churn": "audit_churn_subscribed",
        "value": "audit_value_subscribed",
        "note": "audit_note_subscribed",
        "populations": "audit_populations_subscribed",
    },
    STAYED: {  # data.kind both: subscribers and buyers
        "stayed": "audit_stayed",
        "stayed_tier": "audit_stayed_tier",
        "totals": "audit_predicted_realized_both",
        "churn": "audit_churn_both",
        "value": "audit_value_both",
        "note": "audit_note_both",
        "populations": "audit_populations_both",
    },
}


DEFAULT_WITHIN_DAYS = 365  # an audit.json written before periods recorded it (labels' default)


def _key(period: dict, role: str) -> str:
    return WORDS[outcome_of(period)][role]


def audit_within(period: dict) -> int:
    """The days before a period within which its churn forecast's customers had bought."""
    return period.get("forecast_within_days") or DEFAULT_WITHIN_DAYS


def totals_cell(period: dict, w: Words) -> str:
    """The value forecast beside what was realized, each with the days it covers: the whole churn
    window against the days observed so far ("¥1,216,723 for 90 days → ¥350,326 in 31 days")."""
    return w.cell(
        "audit_totals_value",
        predicted=money(period.get("predicted_value_total")),
        realized=money(period.get("realized_value_total")),
        horizon=period["horizon_days"],
        elapsed=period["elapsed_days"],
    )


def _days(period: dict, w: Words) -> str:
    how = w("audit_complete") if period.get("complete") else w("audit_partly")
    days = w("audit_days_value", elapsed=period["elapsed_days"], horizon=period["horizon_days"])
    return f"{days} ({how})"


def _tiers(periods: list[dict]) -> list[str]:
    """Every tier the periods graded, in their order (best first)."""
    seen: dict[str, None] = {}
    for period in periods:
        seen.update(dict.fromkeys(in_order(period, "by_tier")))
    return list(seen)


def summary_table(periods: list[dict], names: dict, w: Words) -> pd.DataFrame:
    """One row per audited period, newest first: days observed, customers graded, the share who
    stayed (bought again or still subscribed) per tier, the customers churn was checked on and its
    AUC, the forecast for the whole churn window against what was realized so far."""
    tiers = _tiers(periods)
    rows = []
    for period in reversed(periods):
        row = {
            w("audit_period"): period["as_of"],
            w("audit_days"): _days(period, w),
            w("audit_customers"): count(period.get("customers")),
        }
        rates = period.get(f"{rate_key(period)}_by_tier", {})
        for tier in tiers:
            label = w(_key(period, "stayed_tier"), tier=tier_name(tier, names, w))
            row[label] = percent(rates.get(tier))
        row[w("audit_forecast_customers")] = count(period.get("forecast_customers"))
        row[w.name("roc_auc")] = decimal(period.get("churn_roc_auc"), 3)
        row[w(_key(period, "totals"))] = totals_cell(period, w)
        rows.append(row)
    return pd.DataFrame(rows)


def _breakdown(groups: dict, label: str, name, w: Words, period: dict) -> str:
    rate = rate_key(period)
    shown = pd.DataFrame(
        {
            label: [name(k) for k in groups],
            w.name("customers"): [g["customers"] for g in groups.values()],
            w(_key(period, "stayed")): [g[rate] for g in groups.values()],
            w("audit_revenue"): [g["revenue"] for g in groups.values()],
            w("audit_revenue_share"): [g["revenue_share"] for g in groups.values()],
        }
    )
    formats = dict(zip(shown.columns[1:], [count, percent, money, percent]))
    return html_table(shown, formats)


def part_lines(period: dict, w: Words) -> list[str]:
    """A both project's period, one plain line per churn kind (`by_churn_kind`): the share who
    stayed, customers, churn ROC AUC and value predicted against realized; as cell text (in
    `both` languages, Chinese and English on two lines). None for one kind's periods."""
    lines = []
    for kind, found in (period.get("by_churn_kind") or {}).items():
        key = f"audit_part_{kind}"
        if key not in AUDIT_TEXT:  # a churn kind without words: never shown as a code
            continue
        lines.append(
            w.cell(
                key,
                rate=percent(found.get(rate_key(period))),
                customers=count(found.get("customers")),
                auc=decimal(found.get("churn_roc_auc"), 3),
                predicted=money(found.get("predicted_value_total")),
                realized=money(found.get("realized_value_total")),
                horizon=period.get("horizon_days"),
                elapsed=period.get("elapsed_days"),
            )
        )
    return lines


def _parts(period: dict, w: Words) -> str:
    lines = part_lines(period, w)
    if not lines:
        return ""
    items = "".join("<li>" + html.escape(line).replace("\n", "<br>") + "</li>" for line in lines)
    return f"<p><b>{html.escape(w('audit_by_churn_kind'))}</b></p><ul>{items}</ul>"


def detail(period: dict, names: dict, w: Words) -> str:
    """One period in full: per tier, churn and value forecasts against what happened, calibration
    per band, per lifecycle status."""
    how = w("audit_complete") if period.get("complete") else w("audit_partly")
    out = "<h3>" + html.escape(
        w(
            "audit_detail",
            as_of=period["as_of"],
            elapsed=period["elapsed_days"],
            horizon=period["horizon_days"],
            how=how,
        )
    )
    out += "</h3>"
    if period.get("by_tier"):
        out += f"<p><b>{html.escape(w('audit_by_tier'))}</b></p>"
        by_tier = in_order(period, "by_tier")
        out += _breakdown(by_tier, w("tier"), lambda k: tier_name(k, names, w), w, period)
    common = {"horizon": period["horizon_days"], "elapsed": period["elapsed_days"]}
    if not is_missing(period.get("churn_roc_auc")):
        out += "<p>" + w.sentence(
            _key(period, "churn"),
            auc=decimal(period["churn_roc_auc"], 3),
            n=count(period.get("forecast_customers")),
            within=audit_within(period),
            predicted=percent(period.get("churn_predicted")),
            realized=percent(period.get("churn_realized")),
            **common,
        )
        out += "</p>"
    if not is_missing(period.get("value_gini")):
        out += "<p>" + w.sentence(
            _key(period, "value"),
            predicted=money(period.get("predicted_value_total")),
            realized=money(period.get("realized_value_total")),
            gini=decimal(period["value_gini"], 3),
            customers=count(period.get("customers")),
            n=count(period.get("forecast_customers")),
            **common,
        )
        out += "</p>"
    out += _parts(period, w)
    bands = period.get("calibration") or []
    if bands:
        shown = pd.DataFrame(
            {
                w("audit_band"): [f"{b['low']:.0%}–{b['high']:.0%}" for b in bands],
                w.name("customers"): [b["customers"] for b in bands],
                w("audit_predicted"): [b["predicted"] for b in bands],
                w("audit_realized"): [b["realized"] for b in bands],
            }
        )
        out += f"<p><b>{html.escape(w('audit_calibration'))}</b></p>"
        out += html_table(shown, dict(zip(shown.columns[1:], [count, percent, percent])))
    if period.get("by_lifecycle"):
        out += f"<p><b>{html.escape(w('audit_by_lifecycle'))}</b></p>"
        lifecycle = in_order(period, "by_lifecycle")
        out += _breakdown(lifecycle, w("lifecycle_name"), w.name, w, period)
    return out


def stability_section(steps: list[dict], warning: float, w: Words) -> str:
    """PSI of each measure and the share who changed tier, per pair of consecutive periods."""
    if not steps:
        return ""
    columns = list(dict.fromkeys(c for step in steps for c in step.get("psi", {})))
    rows = []
    for step in steps:
        row = {
            w("audit_from_to"): f"{step['from']} → {step['to']}",
            w("audit_changed"): percent(step.get("changed_share")),
        }
        row.update({w.name(c): decimal(step.get("psi", {}).get(c), 3) for c in columns})
        rows.append(row)
    latest = steps[-1].get("drift", [])
    verdict = (
        w.sentence("audit_drift", columns=", ".join(w.name(c) for c in latest))
        if latest
        else w.sentence("audit_no_drift")
    )
    return (
        f"<h3>{html.escape(w('audit_stability'))}</h3>"
        f"<p>{w.sentence('audit_stability_note', warning=decimal(warning, 2))}</p>"
        + html_table(pd.DataFrame(rows))
        + f'<p class="{"warn" if latest else ""}">{verdict}</p>'
    )


def audit_section(audit: dict | None, names: dict, w: Words) -> str:
    """The whole section: a line per audited period, the latest complete one (else the oldest) in
    full, and stability."""
    periods = (audit or {}).get("periods") or []
    steps = (audit or {}).get("stability") or []
    if not periods:
        return f"<p>{w.sentence('no_audit')}</p>" + stability_section(
            steps, (audit or {}).get("psi_warning", 0.25), w
        )
    complete = [p for p in periods if p.get("complete")]
    shown = complete[-1] if complete else periods[0]
    return (
        f"<p>{w.sentence(_key(shown, 'note'))}</p>"
        + html_table(summary_table(periods, names, w))
        + f"<p>{w.sentence(_key(shown, 'populations'), within=audit_within(shown))}</p>"
        + detail(shown, names, w)
        + stability_section(steps, audit.get("psi_warning", 0.25), w)
    )
