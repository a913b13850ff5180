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


def report_schedule(summary: dict) -> None:
    """The features stage's cutoff schedule, and what a user should know about it."""
    production = summary["production_training_cutoffs"]
    console.print(
        f"  backtest folds {', '.join(summary['backtest_folds']) or 'none'}; production models learn "
        f"from {len(production)} cutoffs"
        + (f" ({production[0]} … {production[-1]})" if production else "")
    )
    for note in summary["warnings"]:
        console.print(f"  [yellow]warning:[/yellow] {note}")


def report_grades(metrics: dict) -> None:
    """Each model's grade and which scorer production uses."""
    for target, values in metrics.items():
        style = "green" if values["summary"]["beats_baseline"] else "bold red"
        console.print(
            f"  [{style}]{target}: {values['summary']['verdict_en']}[/{style}]; "
            f"{values['production']['scorer_reason_en']}"
        )


def report_promotion(run: dict) -> None:
    """What the recorded run decided for each model (promoted to champion, or why not)."""
    for model, decision in run["promotion"].items():
        console.print(f"  {model}: {decision}")
