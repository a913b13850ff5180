"""Terminal output for stages and the CLI: progress, timing, and clean messages for bad input."""

from __future__ import annotations

import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from segml.errors import InputWarning, SegmlError

console = Console(stderr=True, highlight=False)


def user_errors() -> tuple[type[Exception], ...]:
    # Errors caused by input or settings: show the message (it says what to do), not a traceback.
    return (SegmlError,)


@contextmanager
def input_warnings() -> Iterator[None]:
    """segml's `InputWarning`s as one console line each ("warning: ..."), every time they occur;
    other warnings as Python shows them."""
    python_shows = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, InputWarning):
            console.print(f"  [yellow]warning:[/yellow] {message}")
        else:
            python_shows(message, category, filename, lineno, file, line)

    with warnings.catch_warnings():
        warnings.simplefilter("always", InputWarning)
        warnings.showwarning = show
        yield


def run_stage(name: str, main: Callable[[], None]) -> None:
    """Run one pipeline stage with a spinner and timing; user errors exit 2 with their message."""
    start = time.perf_counter()
    try:
        with console.status(f"[bold]{name}[/bold] running..."), input_warnings():
            main()
    except user_errors() as exc:
        console.print(f"[bold red]{name} failed:[/bold red] {exc}")
        sys.exit(2)
    console.print(f"[green]✓[/green] {name} done in {time.perf_counter() - start:.1f}s")


def report_notes(notes) -> None:
    """What a user should know about the input (files left out, rows skipped or outside the
    period, ids repaired): one line each."""
    for note in notes:
        console.print(f"  [yellow]note:[/yellow] {note}")


def report_schedule(summary: dict) -> None:
    """The features stage's cutoff schedule, how it was chosen, and what a user should know
    (`data.kind: both`: each part's)."""
    for part, record in summary.get("parts", {}).items():
        console.print(f"  {part}: {record['labelled_rows']:,} labelled rows")
        report_schedule(record)
    if "parts" in summary:
        return
    production = summary["production_training_cutoffs"]
    choice = summary.get("schedule_choice")
    if choice:
        values = choice["values"]
        console.print(
            f"  schedule: {choice['chosen']} (cutoffs every {values['cutoff_spacing_days']} days, "
            f"folds every {values['fold_spacing_days']}, at least {values['min_history_days']} "
            f"days of history each, up to {values['n_training_cutoffs']} training cutoffs) — "
            f"{choice['why']}"
        )
    console.print(
        f"  backtest folds {', '.join(summary['backtest_folds']) or 'none'}; production models learn "
        f"from {len(production)} cutoffs"
        + (f" ({production[0]} … {production[-1]})" if production else "")
    )
    for note in summary["warnings"]:
        console.print(f"  [yellow]warning:[/yellow] {note}")


def report_grades(metrics: dict) -> None:
    """Each model's grade and which scorer production uses (`data.kind: both`: each part's)."""
    if any("parts" in values for values in metrics.values()):
        metrics = {f"{t} ({p})": r for t, v in metrics.items() for p, r in v["parts"].items()}
    for target, values in metrics.items():
        style = "green" if values["summary"]["beats_baseline"] else "bold red"
        console.print(
            f"  [{style}]{target}: {values['summary']['verdict_en']}[/{style}]; "
            f"{values['production']['scorer_reason_en']}"
        )
        if values["summary"].get("blend"):
            console.print(f"    {values['summary']['blend']['verdict_en']}")
        if values.get("forecast"):
            console.print(f"    total: {values['forecast']['total_error_en']}")


def report_promotion(run: dict) -> None:
    """What the recorded run decided for each model (promoted to champion, or why not); a both
    project's per part ("subscriptions churn: ...", "transactions churn: ...")."""
    for model, decision in run["promotion"].items():
        console.print(f"  {model.replace('_', ' ')}: {decision}")


def report_window(study: dict) -> None:
    """The churn window study as a table in the terminal."""
    from rich.table import Table

    table = Table(title=f"Churn windows on {study['customers']:,} customers as of {study['as_of']}")
    for column in ("window", "churn rate", "model ROC AUC", "best rule", "grade", "changed status"):
        table.add_column(column, justify="right")
    for row in study["windows"]:
        if "error" in row:
            table.add_row(f"{row['horizon_days']} d", row["error"][:60], "", "", "", "")
            continue
        table.add_row(
            f"{row['horizon_days']} d",
            f"{row['churn_rate']:.0%}",
            f"{row['model_roc_auc']:.3f}" if row.get("model_roc_auc") is not None else "–",
            f"{row['baseline_roc_auc']:.3f}" if row.get("baseline_roc_auc") is not None else "–",
            str(row.get("grade")),
            f"{row.get('changed_status', 0):,}",
        )
    console.print(table)
