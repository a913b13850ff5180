"""The workbook's sheets built from the run's results: movement since the previous period, the
audit of earlier periods, the forecast's and any given sheet's blocks, the lifecycle and RFM
breakdowns, the actions table and the model-quality blocks of the summary. Each writes onto the
writer `workbook._Book` (passed in, never imported) with `people`, the frame as people read it
(`sheet_view`).
"""

from __future__ import annotations

import pandas as pd

from segml.config import ExportConfig
from segml.reporting.audit_view import part_lines
from segml.reporting.call_list import recurring
from segml.reporting.sheet_view import label
from segml.reporting.text import Words, move_reason, scorer_key
from segml.tiering.audit_record import in_order, outcome_of, rate_key
from segml.tiering.realized import REPURCHASED, RETAINED, STAYED

# subscribers' statuses (trial, won_back, past_due, cancelled) are absent from a purchase table
LIFECYCLE_ORDER = ["trial", "new", "active", "won_back", "past_due", "at_risk", "lost", "cancelled"]


def one_note(frame: pd.DataFrame, language: str) -> pd.DataFrame:
    """The model-quality table's `note_en`/`note_zh` (why a model was not trained) as one `note`
    column in the export language ("中文 / English" for both)."""
    if frame is None or "note_en" not in frame:
        return frame
    en, zh = frame["note_en"], frame["note_zh"]
    note = en if language == "en" else zh if language == "zh" else zh.str.cat(en, sep=" / ")
    return frame.drop(columns=["note_en", "note_zh"]).assign(note=note)


def with_content(blocks: list[tuple[str | None, pd.DataFrame]]) -> list:
    """Blocks that hold something: a lone `no_forecast` note (nothing forecast) is none, so the
    sheet says so in one line like every empty sheet."""
    return [
        (title, frame)
        for title, frame in blocks
        if not (list(frame.columns) == ["note"] and frame["note"].isin(["no_forecast"]).all())
    ]


def actions_table(actions: dict, teams: dict | None = None) -> pd.DataFrame:
    """Every configured action with its owning team in both languages."""
    teams = teams or {}
    rows = [
        {
            "policy": policy,
            "grade_key": grade,
            "team_en": teams.get(a.get("team"), {}).get("en", a.get("team", "")),
            "team_zh": teams.get(a.get("team"), {}).get("zh", a.get("team", "")),
            "action_en": a.get("en", ""),
            "action_zh": a.get("zh", ""),
        }
        for policy, grades in actions.items()
        for grade, a in grades.items()
    ]
    return pd.DataFrame(rows)


def breakdown(table: pd.DataFrame, by: str, order: list[str] | None = None) -> pd.DataFrame:
    """Customers, value share and churn risk per group of `by` (e.g. lifecycle_status,
    rfm_segment), with the group's names (`<by>_en/_zh` or `<stem>_en/_zh` columns) and, for RFM,
    the mean scores. Groups in `order`, else best mean RFM score first."""
    if by not in table:
        return pd.DataFrame()
    stem = by.removesuffix("_status")
    total = table["current_value"].clip(lower=0).sum()
    grouped = table.groupby(by, sort=True)
    out = pd.DataFrame({"customers": grouped.size()})
    for language in ("zh", "en"):
        column = f"{stem}_{language}"
        if column in table:
            out[column] = grouped[column].first()
    out["customer_share"] = out["customers"] / max(len(table), 1)
    out["current_value"] = grouped["current_value"].sum()
    out["value_share"] = (
        grouped["current_value"].apply(lambda v: v.clip(lower=0).sum()) / total
        if total > 0
        else 0.0
    )
    out["mean_churn_probability"] = grouped["churn_probability"].mean()
    out["mean_predicted_value"] = grouped["predicted_value"].mean()
    for score in ("rfm_r", "rfm_f", "rfm_m"):
        if by == "rfm_segment" and score in table:
            out[f"mean_{score}"] = grouped[score].mean()
    if by == "lifecycle_status":
        for column in (
            "lifecycle_action_team_zh",
            "lifecycle_action_team_en",
            "lifecycle_action_zh",
            "lifecycle_action_en",
        ):
            if column in table:
                out[column] = grouped[column].first()
    if order is None and by == "rfm_segment" and "rfm_r" in table:
        order = list(
            (grouped[["rfm_r", "rfm_f", "rfm_m"]].mean().sum(axis=1) * -1)
            .reset_index()
            .sort_values([0, by])[by]
        )
    if order is not None:
        out = out.reindex([k for k in order if k in out.index])
    out["customers"] = out["customers"].astype("int64")
    names = [
        c
        for c in out.columns
        if c.startswith(f"{stem}_")
        and c.endswith(("_zh", "_en"))
        and not c.startswith(f"{stem}_action")
    ]
    out = out[names + [c for c in out.columns if c not in names]]  # the group's name first
    return out.rename_axis(by).reset_index().drop(columns=[by])


def breakdown_sheets(book, breakdowns: dict[str, pd.DataFrame], people) -> None:
    """The lifecycle sheet, then the RFM one, or (subscribers) the contract x tenure one with a
    line saying why it stands where RFM would; a sheet with no rows says so in one line."""
    apart = "contract_tenure" if "contract_tenure" in breakdowns else "rfm"
    for key in ("lifecycle", apart):
        frame = breakdowns.get(key, pd.DataFrame())
        if not len(frame):
            book.note(key, label(f"no_{key}", book.cfg))
            continue
        row = book.block(people(frame), key, main=True)
        if key == "contract_tenure":
            book.note(key, label("contract_tenure_note", book.cfg), row - 2)


def quality_blocks(metrics: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Model quality per model: only the model's own measures (no blank columns)."""
    if metrics is None or metrics.empty or "target" not in metrics:
        return [("", metrics)] if metrics is not None and not metrics.empty else []
    blocks = []
    for target, part in metrics.groupby("target", sort=True):
        part = part.dropna(axis=1, how="all").reset_index(drop=True)
        if "scorer" in part:  # named as this model uses it (the value model's BG/NBD x Gamma-Gamma)
            part = part.assign(scorer=[scorer_key(target, s) for s in part["scorer"]])
        blocks.append((target, part))
    return blocks


def _capped(frame: pd.DataFrame, cfg: ExportConfig) -> tuple[pd.DataFrame, str | None]:
    """At most `export.workbook_customers` rows of a customer list (the first, in its order), and a
    note saying how many there are."""
    limit = cfg.workbook_customers
    if not limit or len(frame) <= limit:
        return frame, None
    text = label("workbook_list_note", cfg).format(shown=f"{limit:,}", total=f"{len(frame):,}")
    return frame.head(limit), text


def movement_sheet(book, movement: dict, table: pd.DataFrame, people) -> None:
    """Movement since the previous period (named): the counts, the transition matrix, upgrades
    and downgrades with the value before and now and why, then new and gone customers."""
    key, cfg = "movement", book.cfg
    if not movement.get("available"):
        book.note(key, label("no_previous_run", cfg))
        return
    counts = movement.get("counts") or {}
    figures = {
        "compared_with": [movement.get("compared_with") or ""],
        "kept_share": [movement["kept_share"]],
        "changed_share": [counts.get("changed_share", 1 - movement["kept_share"])],
        **{
            name: [counts.get(name, len(movement.get(part, ())))]
            for name, part in (
                ("upgrades", "upgrades"),
                ("downgrades", "downgrades"),
                ("new_customers", "new"),
                ("gone_customers", "gone"),
            )
        },
    }
    row = book.block(people(pd.DataFrame(figures)), key)
    row = book.block(people(movement["matrix"]), key, row, label("title_transitions", cfg))
    w = Words(cfg, recurring(table))
    potential = bool(table.get("tier_policy", pd.Series(dtype=object)).eq("value_potential").any())
    for part, title in (
        ("upgrades", "title_upgrades"),
        ("downgrades", "title_downgrades"),
        ("new", "title_new_customers"),
        ("gone", "title_gone_customers"),
    ):
        frame = movement.get(part)
        if frame is None:
            continue
        if part in ("upgrades", "downgrades"):
            frame = frame.assign(
                why=[move_reason(r, w, potential) for r in frame.to_dict("records")]
            )
        frame, note = _capped(frame, cfg)
        row = book.block(people(frame), key, row, label(title, cfg))
        if note:
            row = book.note(key, note, row - 2)


def _groups(groups: dict, key: str) -> pd.DataFrame:
    return pd.DataFrame([{key: k, **{c: v for c, v in g.items()}} for k, g in groups.items()])


PERIOD_COLUMNS = [
    "as_of",
    "horizon_days",
    "elapsed_days",
    "complete",
    "customers",
    "repurchase_rate",
    "forecast_customers",
    "churn_roc_auc",
    "churn_predicted",
    "churn_realized",
    "value_gini",
    "predicted_value_total",
    "realized_value_total",
    "matched_share",
]
# the value totals' names by what a period measured: subscribers' recurring revenue; on a both
# project, subscribers' recurring revenue and purchase spend with the buyers' spend
TOTALS_COLUMNS = {
    REPURCHASED: {"customers": "graded_customers"},
    RETAINED: {
        "customers": "graded_customers",
        "forecast_customers": "forecast_customers_subscribed",
        "predicted_value_total": "predicted_recurring_total",
        "realized_value_total": "realized_recurring_total",
    },
    STAYED: {
        "customers": "graded_customers",
        "forecast_customers": "forecast_customers_parts",
        "predicted_value_total": "predicted_value_total_parts",
        "realized_value_total": "realized_value_total_parts",
    },
}


def _period_line(period: dict) -> dict:
    """An audited period's line: its "stayed" rate (bought again, still subscribed, or either on
    a both project) in the place of the rate column, the customers each figure counts (every one
    graded; those churn was checked on) and the value totals named by what they add up (spend,
    recurring revenue, or recurring revenue and spend) and the days they cover."""
    outcome = outcome_of(period)
    rate, totals = rate_key(period), TOTALS_COLUMNS[outcome]
    return {
        (rate if c == "repurchase_rate" else totals.get(c, c)): period.get(
            rate if c == "repurchase_rate" else c
        )
        for c in PERIOD_COLUMNS
    }


def audit_sheet(book, audit: dict | None, people) -> None:
    """Did earlier periods' grades come true? A line per audited period, then each period by tier,
    by lifecycle status and per churn-probability band, then stability between periods."""
    key, cfg = "audit", book.cfg
    periods = (audit or {}).get("periods") or []
    steps = (audit or {}).get("stability") or []
    if not periods and not steps:
        book.note(key, label("no_audit_yet", cfg))
        return
    row = 0
    if periods:
        lines = pd.DataFrame([_period_line(p) for p in reversed(periods)])
        row = book.block(people(lines), key, row)
    else:
        row = book.note(key, label("no_audit_yet", cfg), row)
    for period in reversed(periods):
        at = period["as_of"]
        for part, column, title in (
            ("by_tier", "tier", "title_audit_tiers"),
            ("by_lifecycle", "lifecycle_status", "title_audit_lifecycle"),
        ):
            if period.get(part):
                frame = _groups(in_order(period, part), column)
                row = book.block(people(frame), key, row, label(title, cfg).format(as_of=at))
        lines = part_lines(period, Words(book.cfg))  # data.kind both: a row per churn kind
        if lines:
            frame = pd.DataFrame({"audit_by_churn_kind": lines})
            row = book.block(
                people(frame), key, row, label("title_audit_parts", cfg).format(as_of=at)
            )
        if period.get("calibration"):
            frame = pd.DataFrame(period["calibration"])
            title = label("title_audit_bands", cfg).format(as_of=at)
            row = book.block(people(frame), key, row, title)
    if steps:
        psi = pd.DataFrame(
            [
                {
                    "from": st["from"],
                    "to": st["to"],
                    "changed_share": st.get("changed_share"),
                    **st.get("psi", {}),
                }
                for st in steps
            ]
        )
        row = book.block(people(psi), key, row, label("title_audit_psi", cfg))
        latest = steps[-1]
        if latest.get("transitions"):
            matrix = pd.DataFrame.from_dict(latest["transitions"], orient="index")
            matrix = matrix.rename_axis("previous").reset_index()
            title = label("title_audit_transitions", cfg).format(
                start=latest["from"], end=latest["to"]
            )
            book.block(people(matrix), key, row, title)


def given_blocks(book, key: str, blocks: list, people) -> None:
    """A sheet of (title or title key, frame) blocks; none: the sheet's `no_<key>` line."""
    row = 0
    for title, frame in blocks:
        title = label(title, book.cfg) if title and book.cfg.headers.get(title) else title
        row = book.block(people(frame), key, row, title)
    if not blocks:
        empty = {"movement": "no_previous_run", "audit": "no_audit_yet"}.get(key, f"no_{key}")
        book.note(key, label(empty, book.cfg))
