"""The summary `segml run`, `segml demo` and `segml summary` print, in plain words (names from
`export.headers`): customers per tier, each model beside its baselines with its grade and blend,
the cutoff schedule, movement and the audit, the forecast, and where the outputs are."""

from __future__ import annotations

import dataclasses

from rich import box
from rich.table import Table

from segml.app.console import console
from segml.config import Config, ExportConfig
from segml.data.catalog import Catalog
from segml.reporting.audit_view import audit_within, part_lines, totals_cell
from segml.reporting.subscriber_text import subscriber_headers
from segml.reporting.text import Words, count, decimal, percent
from segml.stages.parts import BOTH, parts_of
from segml.tiering.audit_record import outcome_of, rate_key

# the measures shown per model, with short labels that fit a terminal: the first is the one the
# grade is judged on
HEADLINE = {
    "churn": {
        "roc_auc": "ROC AUC",
        "pr_auc": "PR AUC",
        "brier": "Brier",
        "lift_top10": "Lift top 10%",
    },
    "upside": {
        "normalized_gini": "Normalised Gini",
        "spearman": "Spearman",
        "top20_capture": "Top 20% spend share",
    },
}
# how a measure reads: a share as a percentage, a lift as a multiple, a score to 3 decimals
FORMATS = {
    "top20_capture": lambda v: percent(v),
    "lift_top10": lambda v: f"{decimal(v, 2)}×",
}
SUBSCRIPTIONS = "subscriptions"  # data.kind (and a both project's part) of subscribers
# subscribers' value is their fees: the labels that say spend elsewhere (as the report's headers)
RECURRING_LABELS = {"top20_capture": "Top 20% fees share"}
NOTES = {"churn": "Brier score: lower is better; the others: higher is better."}
# the audit's "stayed" per outcome (`tiering.realized`): purchases, subscribers, both
STAYED_WORDS = {
    "repurchased": "bought again",
    "retained": "still subscribed",
    "stayed": "stayed (still subscribed or bought again)",
}
# who the audit's churn figures count, and what its value totals add up, per outcome
CHECKED_ON = {
    "repurchased": "customers who bought in the {within} days before",
    "retained": "subscribers running then",
    "stayed": "subscribers running then and recent buyers",
}
TOTALS_WORDS = {"repurchased": "spend", "retained": "fees", "stayed": "fees and spend"}
OUTPUTS = (
    ("report (open first)", "report"),
    ("workbook (business users)", "export_xlsx"),
    ("tier table", "export_parquet"),
    ("tier table (CSV, for systems)", "export_csv"),
    ("rejected rows", "rejected"),
)


def print_summary(cfg: Config, catalog: Catalog) -> None:
    """Customers per tier, each model's backtest beside its baselines with its grade, the schedule,
    movement and the audit, the forecast, the outputs."""
    w = terminal_words(cfg)
    console.print(tier_table(cfg, catalog.read("tier_summary"), w))
    for name, part_cfg, part in parts_of(cfg, catalog):  # data.kind both: each part's models
        if cfg.data.kind == BOTH:
            console.print(f"[bold]{name}[/bold]")
        print_models(part, terminal_words(part_cfg))
    choice = catalog.read("schedule").get("schedule_choice")
    if choice:
        console.print(f"Cutoff schedule: {choice['chosen']} — {choice['why']}")
    print_periods(catalog, w)
    if cfg.data.kind != BOTH:  # the forecast's totals of one kind's models
        report_forecast(
            catalog.read("tier_metrics"),
            catalog.read("churn_metrics"),
            catalog.read("upside_metrics"),
            cfg.labels.horizon_days,
            w.recurring,
        )
    print_outputs(cfg, catalog)


def terminal_words(cfg: Config) -> Words:
    """English words (the terminal speaks English) for one kind's config: subscribers' in fees,
    as their report and workbook (`subscriber_headers`)."""
    export = dataclasses.replace(cfg.export, language="en")
    recurring = cfg.data.kind == SUBSCRIPTIONS
    return Words(subscriber_headers(export) if recurring else export, recurring=recurring)


def print_models(catalog: Catalog, w: Words) -> None:
    """Each model's backtest beside its baselines, its grade and the scorer in use."""
    for target in HEADLINE:
        metrics = catalog.read(f"{target}_metrics")
        if metrics.get("spread"):  # a model that was not trained has no backtest to show
            console.print(model_table(target, metrics, w))
        style = "green" if metrics["summary"]["beats_baseline"] else "bold red"
        console.print(
            f"[{style}]{w.target(target)} grade {metrics['summary']['verdict_en']}[/{style}]"
        )
        if metrics["summary"].get("blend"):
            console.print(f"  {metrics['summary']['blend']['verdict_en']}")
        reason = metrics["production"]["scorer_reason_en"]
        console.print(f"  {reason[:1].upper()}{reason[1:]}\n")


def print_outputs(cfg: Config, catalog: Catalog) -> None:
    """Where the outputs are."""
    console.print("\n[bold]Outputs[/bold]")
    for label, name in OUTPUTS:
        console.print(f"  {label:32s} {catalog.path(name)}")
    for label, path in (
        ("metrics", cfg.paths.metrics_dir),
        ("models", cfg.paths.models_dir),
        ("MLflow store", cfg.tracking.uri),
    ):
        console.print(f"  {label:32s} {path}")
    console.print("  open the MLflow UI with `make mlflow-ui` (or `segml ui`)")


def tier_table(cfg: Config, summary, w: Words) -> Table:
    """Customers, their share, the share of value and the mean churn risk, per headline tier."""
    policy = cfg.tiering.primary
    cells = cfg.tiering.value_potential.get("cells", {}) if policy == "value_potential" else {}
    table = Table(title=f"Customers per tier ({w.name(policy)})", box=box.SIMPLE_HEAD)
    table.add_column("Tier", no_wrap=True)
    for header in ("Customers", "Share of customers", "Share of value", "Mean churn risk"):
        table.add_column(header, justify="right")
    for row in summary.itertuples():
        name = (cells.get(row.tier) or {}).get("en") or w.name(row.tier, str(row.tier))
        table.add_row(
            name,
            count(row.customers),
            percent(row.customer_share),
            percent(row.value_share),
            percent(row.mean_churn_probability, 0),
        )
    return table


def scorer_name(target: str, scorer: str, production: str | None, w: Words) -> str:
    name = w.scorer(target, scorer)
    return f"{name} (in production)" if scorer == production else name


def model_table(target: str, metrics: dict, w: Words) -> Table:
    """Each scorer's backtest means (the graded measure with its spread between folds)."""
    measures = [m for m in HEADLINE[target] if m in metrics.get("model", {})]
    table = Table(
        title=f"{w.target(target)} vs baselines (backtest: mean of "
        f"{metrics['summary']['folds']} folds ± spread)",
        caption=NOTES.get(target),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    production = metrics.get("production", {}).get("scorer")
    scorers = sorted(metrics["spread"], key=lambda s: (s != "model", s))  # the model first
    rows = []
    for scorer in scorers:
        cells = []
        for i, measure in enumerate(measures):
            value = metrics[scorer].get(measure)
            shown = FORMATS.get(measure, lambda v: decimal(v, 3))
            cell = shown(value)
            if i == 0 and value is not None:  # the grade is judged on this one
                cell += f" ± {shown(metrics['spread'][scorer].get(measure))}"
            cells.append(cell)
        rows.append([scorer_name(target, scorer, production, w), *cells])
    # in 80 columns a long header wraps onto a second line; names and numbers are never cut
    table.add_column("Scorer", no_wrap=True)
    for i, measure in enumerate(measures, start=1):
        widest = max(len(row[i]) for row in rows)
        name = (RECURRING_LABELS.get(measure) if w.recurring else None) or HEADLINE[target][measure]
        table.add_column(name, justify="right", min_width=widest)
    for row in rows:
        table.add_row(*row)
    return table


def _span(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "–"
    low, high = f"{min(values):.0%}", f"{max(values):.0%}"
    return low if low == high else f"{low}–{high}"


def report_forecast(
    tier_metrics: dict, churn: dict, upside: dict, horizon_days: int, recurring: bool = False
) -> None:
    """The forecast's total and how far totals were off in the backtest, how often the ranges held
    and the next purchase dates came true (`recurring`: subscribers' fees, not spend)."""
    whom = "subscribers" if recurring else "customers"
    forecast = upside.get("forecast")
    total = tier_metrics.get("forecast_total")
    if total is not None:
        scaled = (
            f"scaled by {forecast['factor']:.2f} so totals add up"
            if forecast and forecast.get("applied")
            else "not scaled"
        )
        console.print(
            f"[bold]Forecast[/bold] for the next {horizon_days} days: ¥{total:,.0f}"
            f"{' in fees' if recurring else ''} from "
            f"{tier_metrics.get('forecast_customers', tier_metrics.get('customers', 0)):,} "
            f"{whom} ({scaled})"
        )
    if forecast:
        style = "green" if forecast.get("within_10_percent") else "yellow"
        console.print(f"  [{style}]total: {forecast['total_error_en']}[/{style}]")
        held = [f.get("coverage", float("nan")) for f in forecast["folds"].values()]
        if forecast.get("level"):
            really = "were really billed" if recurring else "really spent"
            console.print(
                f"  value ranges ({forecast['level']:.0%}): held what {_span(held)} of {whom} "
                f"{really}, per backtest fold"
            )
    dated = churn.get("next_purchase", {}).get("folds", {})
    if dated:
        console.print(
            f"  next purchase dates: {tier_metrics.get('next_purchase_expected', 0):,} customers "
            f"expected to buy within {horizon_days} days; in the backtest a date was followed by a "
            f"purchase for {_span([f['date_right'] for f in dated.values()])} of customers, "
            f"'none expected' right for {_span([f['none_right'] for f in dated.values()])}"
        )


def print_periods(catalog, w: Words | None = None) -> None:
    """Movement since the previous period and what the audit found, one line each (a both
    project's audit also a line per churn kind, in `w`'s words)."""
    moved = catalog.read("tier_metrics")
    counts = moved.get("movement")
    if counts:
        console.print(
            f"movement since {moved['previous_as_of']}: {counts['changed_share']:.1%} of customers "
            f"graded in both changed tier ({counts['upgrades']:,} up, {counts['downgrades']:,} "
            f"down); {counts['new_customers']:,} new, {counts['gone_customers']:,} no longer graded"
        )
    else:
        console.print("movement: no earlier period of this export to compare with yet")
    audit = catalog.read("audit_metrics") if catalog.exists("audit_metrics") else {}
    for period in audit.get("periods", []):
        rates = period.get(f"{rate_key(period)}_by_tier", {})
        bought = ", ".join(f"{tier} {rate:.0%}" for tier, rate in rates.items())
        stayed = STAYED_WORDS[outcome_of(period)]
        state = "complete" if period["complete"] else "partly"
        outcome = outcome_of(period)
        checked = CHECKED_ON[outcome].format(within=audit_within(period))
        console.print(
            f"audit of {period['as_of']} ({period['elapsed_days']} of {period['horizon_days']} days, "
            f"{state}): {stayed} {bought} (of all {count(period.get('customers'))} graded); churn "
            f"ROC AUC {period.get('churn_roc_auc', float('nan')):.3f} (on the "
            f"{count(period.get('forecast_customers'))} {checked}); {TOTALS_WORDS[outcome]} "
            f"forecast {totals_cell(period, w or Words(ExportConfig(language='en')))}"
        )
        for line in part_lines(period, w) if w else []:  # data.kind both: each churn kind
            console.print(f"  {line}")
    drift = (audit.get("stability") or [{}])[-1].get("drift")
    if drift:
        names = ", ".join(w.name(c) if w else c for c in drift)  # in words, never a column name
        console.print(f"[yellow]drift since the previous period:[/yellow] {names}")
