"""The report's "Choosing the churn window" section: the table `segml window` measured (churn rate,
models' quality and lifecycle changes per window), or a line saying how to get it."""

from __future__ import annotations

import html

import pandas as pd

from segml.reporting.html_table import html_table
from segml.reporting.text import MISSING, Words, count, decimal, is_missing, percent


def window_section(study: dict | None, as_of: str, horizon_days: int | None, w: Words) -> str:
    if not study:
        return f"<p>{w.sentence('no_window')}</p>"
    when = str(study.get("computed_at", ""))[:10] or MISSING
    text = w.sentence(
        "window_note",
        customers=count(study.get("customers")),
        as_of=study.get("as_of", MISSING),
        when=when,
        days=horizon_days or study.get("configured_horizon_days"),
    )
    if str(study.get("as_of")) != str(as_of):
        text += " " + w.sentence("window_other_period")
    rows = []
    for row in study.get("windows", []):
        shown = {w("window_days"): str(row["horizon_days"])}
        if "error" in row:
            shown[w("churn_rate")] = html.unescape(str(row["error"]))[:160]
            rows.append(shown)
            continue
        status = row.get("status", {})
        shown.update(
            {
                w("churn_rate"): percent(row.get("churn_rate"), 0),
                w("window_model"): decimal(row.get("model_roc_auc")),
                w("window_baseline"): (
                    f"{decimal(row.get('baseline_roc_auc'))} ({w.name(row.get('best_baseline'))})"
                    if not is_missing(row.get("baseline_roc_auc"))
                    else MISSING
                ),
                w("window_grade"): str(row.get("grade") or MISSING),
                w("window_gini"): decimal(row.get("value_gini")),
                **{w.name(k): count(status.get(k)) for k in ("new", "active", "at_risk", "lost")},
                w("window_changed"): count(row.get("changed_status")),
                w("window_seconds"): decimal(row.get("seconds"), 0),
            }
        )
        rows.append(shown)
    return f"<p>{text}</p>" + html_table(pd.DataFrame(rows))
