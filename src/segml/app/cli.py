"""`segml` command line: generate demo data, compose config, run the pipeline, score, open MLflow."""

from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from segml.app.console import console

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Customer grading and classification (客户分级分类): transactions in, tiers out.",
)

Overrides = Annotated[
    Optional[list[str]], typer.Argument(help="Hydra overrides, e.g. labels.horizon_days=60")
]


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(2)


# one run at a time per project: a second run would rewrite params.yaml under the first one
RUN_LOCK = Path("logs") / "segml-run.lock"


@contextmanager
def _one_at_a_time():
    """Hold the project's run lock, or stop (exit 2) naming the command that holds it."""
    from segml.app.lock import run_lock
    from segml.errors import ProjectBusyError

    try:
        with run_lock(RUN_LOCK, shlex.join(["segml", *sys.argv[1:]])):
            yield
    except ProjectBusyError as exc:  # raised only when taking the lock: the body never raises it
        _fail(str(exc))


def _config(overrides: list[str] | None):
    from segml.app.params import compose
    from segml.config import to_typed
    from segml.errors import ConfigError

    try:
        raw = compose(overrides or [])
        return raw, to_typed(raw)
    except ConfigError as exc:
        _fail(str(exc))
    except Exception as exc:  # Hydra override / composition errors
        _fail(f"cannot compose conf/ with overrides {overrides or []}: {exc}")


@app.command()
def generate(
    customers: int = typer.Option(20_000, help="number of customers"),
    seed: int = typer.Option(42),
    start: str = typer.Option("2023-01-01"),
    end: Optional[str] = typer.Option(
        None, help="last day (default: 2025-12-31; cohort: a year after start)"
    ),
    shape: str = typer.Option(
        "default",
        help="default (years of a growing business) | cohort (one "
        "acquisition wave in the first quarter, repeat rates decaying with tenure)",
    ),
    overrides: Overrides = None,
) -> None:
    """Write messy demo data where conf/paths expects raw input, with the headers conf/data maps."""
    import pandas as pd

    if end is None:
        end = (
            str((pd.Timestamp(start) + pd.DateOffset(years=1, days=-1)).date())
            if shape == "cohort"
            else "2025-12-31"
        )
    with _one_at_a_time():
        _generate(customers, seed, start, end, overrides, shape)


def _generate(
    customers: int,
    seed: int,
    start: str,
    end: str,
    overrides: list[str] | None,
    shape: str = "default",
) -> None:
    from segml.data import io
    from segml.data.generate import generate as make

    _, cfg = _config(overrides)
    with console.status(f"generating {customers:,} customers..."):
        demo = make(customers, start, end, seed, shape=shape)
        tx = demo.transactions.rename(columns={k: v for k, v in cfg.data.columns.items() if v})
        attrs = demo.customers.rename(
            columns={k: v for k, v in cfg.data.customer_columns.items() if v}
        )
        io.write_csv(tx, cfg.paths.raw_transactions, encoding=cfg.data.encoding)
        io.write_csv(
            attrs,
            cfg.paths.raw_customers,
            encoding=cfg.data.customers_encoding or cfg.data.encoding,
        )
        io.write_csv(demo.ground_truth, cfg.paths.ground_truth)
    console.print(
        f"wrote {len(tx):,} transaction rows to {cfg.paths.raw_transactions}, "
        f"{len(attrs):,} customers to {cfg.paths.raw_customers}, truth to {cfg.paths.ground_truth}"
    )


@app.command()
def compose(overrides: Overrides = None) -> None:
    """Compose conf/ (+ overrides) into params.yaml, the file every DVC stage reads."""
    with _one_at_a_time():
        _compose(overrides)


def _compose(overrides: list[str] | None) -> None:
    from segml.app.params import conf_digest, write_params

    overrides = _pin_previous_period(list(overrides or []))
    before = conf_digest()  # an edit saved while Hydra composes leaves params.yaml stale
    raw, _ = _config(overrides)
    write_params(raw, overrides=overrides, conf_state=before)
    console.print(f"params.yaml composed from conf/ with overrides {overrides}")


def _pin_previous_period(overrides: list[str]) -> list[str]:
    """Add `tiering.previous_ref` (the exact previous period movement compares with) to the
    overrides, unless given: a DVC parameter of the tier stage, so movement never goes stale."""
    if any(o.split("=")[0].lstrip("+~") == "tiering.previous_ref" for o in overrides):
        return overrides
    from segml.data.provenance import file_digest
    from segml.reporting import run_history

    _, cfg = _config(overrides)
    paths = cfg.paths
    if (
        not cfg.tiering.previous
        or not Path(cfg.tracking.uri.removeprefix("sqlite:///")).exists()
        or not Path(paths.raw_transactions).exists()
    ):
        return overrides
    period = run_history.period_key(
        file_digest(paths.raw_transactions, paths.raw_customers), cfg.as_of
    )
    ref = run_history.previous_ref(
        cfg.tiering.previous, cfg.tracking.uri, cfg.tracking.experiment, period
    )
    return [*overrides, f"tiering.previous_ref='{ref}'"] if ref else overrides


def _dvc(*args: str) -> int:
    # stages run `python ...`: make sure that is this environment's python
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    return subprocess.call([sys.executable, "-m", "dvc", *args], env=env)


def _ensure_dvc_repo() -> None:
    if not Path(".dvc").is_dir():
        _dvc("init", *([] if Path(".git").exists() else ["--no-scm"]))


@app.command()
def run(
    overrides: Overrides = None, force: bool = typer.Option(False, help="rerun every stage")
) -> None:
    """Compose the config and run `dvc repro`; only stages whose inputs changed rerun."""
    _run(overrides, force)


def _run(overrides: list[str] | None, force: bool = False) -> None:
    with _one_at_a_time():
        _compose_and_repro(overrides, force)
    summary()


def _compose_and_repro(overrides: list[str] | None, force: bool = False) -> None:
    _compose(overrides)
    _ensure_dvc_repo()
    code = _dvc("repro", *(["--force"] if force else []))
    if code != 0:
        _fail(f"dvc repro failed (exit {code}); the stage's message is above.")


@app.command()
def demo(overrides: Overrides = None) -> None:
    """Generate demo data (if absent) and run the whole pipeline on it."""
    _, cfg = _config(overrides)
    with _one_at_a_time():
        if not Path(cfg.paths.raw_transactions).exists():
            _generate(20_000, 42, "2023-01-01", "2025-12-31", overrides)
        _compose_and_repro(overrides)
    summary()


@app.command()
def summary() -> None:
    """Print customers per tier, model metrics beside baselines, and where every output is."""
    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.models.evaluation import verdict

    cfg = load_config(check=False)
    catalog = Catalog.from_config(cfg.paths)
    tiers = catalog.read("tier_summary")
    table = Table(title=f"Customers per tier ({cfg.tiering.primary})")
    for column in ("tier", "customers", "customer_share", "value_share", "mean_churn_probability"):
        table.add_column(column, justify="right")
    for row in tiers.itertuples():
        table.add_row(
            str(row.tier),
            f"{row.customers:,}",
            f"{row.customer_share:.1%}",
            f"{row.value_share:.1%}",
            f"{row.mean_churn_probability:.2f}",
        )
    console.print(table)
    for target, headline in (
        ("churn", ("roc_auc", "pr_auc", "brier", "lift_top10")),
        ("upside", ("normalized_gini", "spearman", "top20_capture")),
    ):
        metrics = catalog.read(f"{target}_metrics")
        summary_ = metrics["summary"]
        grid = Table(
            title=f"{target} model vs baselines: walk-forward backtest, mean ± spread over "
            f"{summary_['folds']} folds"
        )
        grid.add_column("scorer")
        for name in headline:
            grid.add_column(name, justify="right")
        for scorer in (k for k in metrics["spread"]):
            grid.add_row(
                scorer,
                *(
                    f"{metrics[scorer][n]:.3f} ± {metrics['spread'][scorer][n]:.3f}"
                    if n in metrics[scorer]
                    else ""
                    for n in headline
                ),
            )
        console.print(grid)
        style = "green" if summary_["beats_baseline"] else "bold red"
        console.print(f"[{style}]{target} model grade {verdict(summary_)}[/{style}]")
        console.print(f"  production: {metrics['production']['scorer_reason_en']}")
    console.print("\n[bold]Outputs[/bold]")
    for label, name in (
        ("report (open first)", "report"),
        ("workbook (business users)", "export_xlsx"),
        ("tier table", "export_parquet"),
        ("tier table (CSV, for systems)", "export_csv"),
        ("rejected rows", "rejected"),
    ):
        console.print(f"  {label:32s} {catalog.path(name)}")
    for label, path in (
        ("metrics", cfg.paths.metrics_dir),
        ("models", cfg.paths.models_dir),
        ("MLflow store", cfg.tracking.uri),
    ):
        console.print(f"  {label:32s} {path}")
    console.print("  open the MLflow UI with `make mlflow-ui` (or `segml ui`)")


@app.command()
def score(
    input: Path = typer.Option(..., "--input", help="transactions file, same format as conf/data"),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="scoring date (default: last date in the data)"
    ),
    customers: Optional[Path] = typer.Option(
        None, "--customers", help="optional customer attribute file"
    ),
    model: str = typer.Option("champion", "--model", help="registry alias or version number"),
    out: Path = typer.Option(
        Path("scored"), "--out", help="folder for the exports (outside the DVC-tracked exports/)"
    ),
    allow_short_history: bool = typer.Option(
        False, help="score even when the input covers less history than the features look back"
    ),
    overrides: Overrides = None,
) -> None:
    """Score new transactions with registered models: no retraining, same exports."""
    with _one_at_a_time():
        _score(input, as_of, customers, model, out, allow_short_history, overrides)


def _score(
    input: Path,
    as_of: str | None,
    customers: Path | None,
    model: str,
    out: Path,
    allow_short_history: bool,
    overrides: list[str] | None,
) -> None:
    from segml.app import pipeline
    from segml.app.console import user_errors

    _, cfg = _config(overrides)
    try:
        catalog = _scoring_catalog(cfg, input, customers, out)
        cfg = _scoring_config(cfg, input, customers, as_of)
        with console.status(f"loading registered models ({model})..."):
            vocabulary = _load_registered(cfg, catalog, model)
        cfg = _registered_window(cfg, catalog, model)
        if customers is None and vocabulary and vocabulary.attributes:
            console.print(
                f"[yellow]warning:[/yellow] no --customers file: the models use customer attributes "
                f"({', '.join(vocabulary.attributes)}); every customer is scored with them missing."
            )
        pipeline.score(cfg, catalog, allow_short_history, lambda name: console.status(f"{name}..."))
    except user_errors() as exc:
        _fail(str(exc))
    tiers, quality = catalog.read("tiers"), catalog.read("data_quality")
    console.print(
        f"scored {len(tiers):,} customers as of {tiers['as_of'].iloc[0]} with models `{model}`; "
        f"{quality['rows_rejected']:,} rows rejected. Exports in {out}/"
    )


def _scoring_catalog(cfg, input: Path, customers: Path | None, out: Path):
    """The exports and the rejected rows as files in `out`, everything else held in memory,
    starting with the user's export (read here, so messages name the command's options)."""
    from segml.data.catalog import Catalog
    from segml.data.raw import read_raw_inputs
    from segml.stages.artifacts import EXPORT_NAMES

    files = [*EXPORT_NAMES.values(), "report", "rejected"]
    given = {"raw_transactions": input, **({"raw_customers": customers} if customers else {})}
    catalog = Catalog.from_config(cfg.paths).under(out, files).at(given).in_memory(files)
    # a customer file named on the command line must exist
    data = dataclasses.replace(cfg.data, customers_optional=not customers)
    raw, raw_customers = read_raw_inputs(input, customers, data, keys=("--input", "--customers"))
    catalog.write("raw_transactions", raw)
    if raw_customers is not None:
        catalog.write("raw_customers", raw_customers)
    return catalog


def _scoring_config(cfg, input: Path, customers: Path | None, as_of: str | None):
    """`cfg` with the scoring date, and movement pinned to the last accepted period other than
    this one, as `segml compose` pins it for the pipeline."""
    from segml.data.provenance import file_digest
    from segml.reporting import run_history

    period = run_history.period_key(file_digest(*[p for p in (input, customers) if p]), as_of)
    ref = run_history.previous_ref(
        cfg.tiering.previous, cfg.tracking.uri, cfg.tracking.experiment, period
    )
    tiering = dataclasses.replace(cfg.tiering, previous_ref=ref)
    return dataclasses.replace(cfg, as_of=as_of, tiering=tiering)


def _registered_window(cfg, catalog, model: str):
    """`cfg` with the churn window the registered models were trained for: they predict that
    window, whatever `labels.horizon_days` says now (that setting is for training)."""
    from segml.stages.snapshot import registered_horizon

    horizon = registered_horizon(catalog)
    if horizon != cfg.labels.horizon_days:
        console.print(
            f"note: the models `{model}` predict {horizon} days ahead: scored with that churn "
            f"window (labels.horizon_days={cfg.labels.horizon_days} applies to training)"
        )
    return dataclasses.replace(cfg, labels=dataclasses.replace(cfg.labels, horizon_days=horizon))


def _load_registered(cfg, catalog, model: str):
    """The registered models (`model`: alias or version), their vocabulary, and the metrics, plot
    tables and segment profile of the run that trained them (the report shows model quality from
    there), as catalog entries; returns the vocabulary."""
    from segml.data.catalog import Catalog
    from segml.reporting import run_history
    from segml.stages.artifacts import MODELS

    uri = cfg.tracking.uri
    for name, entry in MODELS.items():
        catalog.write(entry, run_history.load_registered(uri, name, cfg.paths.in_mlflow_run, model))
    vocabulary = catalog.read("churn_model").vocabulary_
    catalog.write("vocabulary", dataclasses.asdict(vocabulary) if vocabulary else None)
    metrics, plots, profile = run_history.training_outputs(
        uri, Catalog.from_config(cfg.paths), model
    )
    for target, values in metrics.items():
        catalog.write(f"{target}_metrics", values)
    for name, frame in plots.items():
        catalog.write(f"{name}_plot", frame)
    catalog.write("segment_profile", profile)
    return vocabulary


@app.command()
def ui(port: int = typer.Option(5000), overrides: Overrides = None) -> None:
    """Open the MLflow UI on 127.0.0.1 against the project's tracking store."""
    _, cfg = _config(overrides)
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    console.print(
        f"MLflow UI on http://127.0.0.1:{port} (store {cfg.tracking.uri}); Ctrl+C to stop"
    )
    raise typer.Exit(
        subprocess.call(
            [
                mlflow,
                "ui",
                "--backend-store-uri",
                cfg.tracking.uri,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ]
        )
    )


if __name__ == "__main__":
    app()
