"""`segml` command line: generate demo data, compose config, run the pipeline, score, open MLflow."""

from __future__ import annotations

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

from segml.console import console

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Customer grading and classification (客户分级分类): transactions in, tiers out.")

Overrides = Annotated[Optional[list[str]], typer.Argument(help="Hydra overrides, e.g. labels.horizon_days=60")]


def _fail(message: str) -> None:
    console.print(f"[bold red]error:[/bold red] {message}")
    raise typer.Exit(2)


# one run at a time per project: a second run would rewrite params.yaml under the first one
RUN_LOCK = Path("logs") / "segml-run.lock"


@contextmanager
def _one_at_a_time():
    """Hold the project's run lock, or stop (exit 2) naming the command that holds it."""
    from segml.io import ProjectBusyError, run_lock

    try:
        with run_lock(RUN_LOCK, shlex.join(["segml", *sys.argv[1:]])):
            yield
    except ProjectBusyError as exc:  # raised only when taking the lock: the body never raises it
        _fail(str(exc))


def _config(overrides: list[str] | None):
    from segml.config import ConfigError, compose, to_typed

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
    end: str = typer.Option("2025-12-31"),
    overrides: Overrides = None,
) -> None:
    """Write messy demo data where conf/paths expects raw input, with the headers conf/data maps."""
    with _one_at_a_time():
        _generate(customers, seed, start, end, overrides)


def _generate(customers: int, seed: int, start: str, end: str, overrides: list[str] | None) -> None:
    from segml import io
    from segml.generate import generate as make

    _, cfg = _config(overrides)
    with console.status(f"generating {customers:,} customers..."):
        demo = make(customers, start, end, seed)
        tx = demo.transactions.rename(columns={k: v for k, v in cfg.data.columns.items() if v})
        attrs = demo.customers.rename(columns={k: v for k, v in cfg.data.customer_columns.items() if v})
        io.write_csv(tx, cfg.paths.raw_transactions, encoding=cfg.data.encoding)
        io.write_csv(attrs, cfg.paths.raw_customers,
                     encoding=cfg.data.customers_encoding or cfg.data.encoding)
        io.write_csv(demo.ground_truth, cfg.paths.ground_truth)
    console.print(f"wrote {len(tx):,} transaction rows to {cfg.paths.raw_transactions}, "
                  f"{len(attrs):,} customers to {cfg.paths.raw_customers}, truth to {cfg.paths.ground_truth}")


@app.command()
def compose(overrides: Overrides = None) -> None:
    """Compose conf/ (+ overrides) into params.yaml, the file every DVC stage reads."""
    with _one_at_a_time():
        _compose(overrides)


def _compose(overrides: list[str] | None) -> None:
    from segml.config import write_params

    raw, _ = _config(overrides)
    write_params(raw, overrides=overrides)
    console.print(f"params.yaml composed from conf/ with overrides {overrides or []}")


def _dvc(*args: str) -> int:
    # stages run `python ...`: make sure that is this environment's python
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "DVC_NO_ANALYTICS": "1"}
    return subprocess.call([sys.executable, "-m", "dvc", *args], env=env)


def _ensure_dvc_repo() -> None:
    if not Path(".dvc").is_dir():
        _dvc("init", *([] if Path(".git").exists() else ["--no-scm"]))


@app.command()
def run(overrides: Overrides = None, force: bool = typer.Option(False, help="rerun every stage")) -> None:
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


def _fmt(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


@app.command()
def summary() -> None:
    """Print customers per tier, model metrics beside baselines, and where every output is."""
    from segml import io
    from segml.config import load_config
    from segml.evaluation import verdict

    cfg = load_config(check=False)
    paths = cfg.paths
    tiers = io.read_parquet(Path(paths.tiers_dir) / "summary.parquet")
    table = Table(title=f"Customers per tier ({cfg.tiering.primary})")
    for column in ("tier", "customers", "customer_share", "value_share", "mean_churn_probability"):
        table.add_column(column, justify="right")
    for row in tiers.itertuples():
        table.add_row(str(row.tier), f"{row.customers:,}", f"{row.customer_share:.1%}", f"{row.value_share:.1%}",
                      f"{row.mean_churn_probability:.2f}")
    console.print(table)
    for target, headline in (("churn", ("roc_auc", "pr_auc", "brier", "lift_top10")),
                             ("upside", ("normalized_gini", "spearman", "top20_capture"))):
        metrics = io.read_json(Path(paths.metrics_dir) / f"{target}.json")
        grid = Table(title=f"{target} model vs baselines (validation cutoff)")
        grid.add_column("scorer")
        for name in headline:
            grid.add_column(name, justify="right")
        for scorer, values in metrics.items():
            if scorer not in ("summary", "data"):
                grid.add_row(scorer, *(_fmt(values.get(n)) for n in headline))
        console.print(grid)
        style = "green" if metrics["summary"]["beats_baseline"] else "bold red"
        console.print(f"[{style}]{target} model grade {verdict(metrics['summary'])}[/{style}]")
    out = Path(paths.exports_dir)
    console.print("\n[bold]Outputs[/bold]")
    for label, path in (("tier table", out / "tiers.parquet"), ("tier table (Excel-friendly CSV)", out / "tiers.csv"),
                        ("workbook", out / "tiers.xlsx"), ("report", out / "report.html"),
                        ("rejected rows", Path(paths.prepared_dir) / "rejected.parquet"),
                        ("metrics", Path(paths.metrics_dir)), ("models", Path(paths.models_dir)),
                        ("MLflow store", cfg.tracking.uri)):
        console.print(f"  {label:32s} {path}")
    console.print("  open the MLflow UI with `make mlflow-ui` (or `segml ui`)")


@app.command()
def score(
    input: Path = typer.Option(..., "--input", help="transactions file, same format as conf/data"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="scoring date (default: last date in the data)"),
    customers: Optional[Path] = typer.Option(None, "--customers", help="optional customer attribute file"),
    model: str = typer.Option("champion", "--model", help="registry alias or version number"),
    out: Path = typer.Option(Path("scored"), "--out", help="folder for the exports (outside the DVC-tracked exports/)"),
    overrides: Overrides = None,
) -> None:
    """Score new transactions with registered models: no retraining, same exports."""
    with _one_at_a_time():
        _score(input, as_of, customers, model, out, overrides)


def _score(input: Path, as_of: str | None, customers: Path | None, model: str, out: Path,
           overrides: list[str] | None) -> None:
    from segml import io, tracking
    from segml.console import user_errors
    from segml.scoring import score_customers
    from segml.validate import prepare
    from segml.datasets import build_snapshot
    from segml.export import build_scored_exports

    _, cfg = _config(overrides)
    try:
        data = cfg.data
        raw = io.read_raw_table(input, config_key="--input", **data.read_options())
        raw_customers = None
        if customers:
            raw_customers = io.read_raw_table(customers, config_key="--customers",
                                              **data.read_options(customers=True))
        with console.status("validating and building features..."):
            prepared = prepare(raw, raw_customers, data, as_of, str(input), str(customers or ""))
        with console.status(f"loading registered models ({model})..."):
            loaded = {name: tracking.load_registered(cfg.tracking.uri, name, model)
                      for name in ("churn", "upside", "segmenter")}
        snapshot = build_snapshot(prepared.transactions, prepared.customers, cfg.features,
                                  loaded["churn"].vocabulary_, as_of, cfg.labels.horizon_days)
        with console.status("scoring..."):
            result = score_customers(snapshot, loaded["segmenter"], loaded["churn"], loaded["upside"], cfg.tiering,
                                     cfg.labels.horizon_days)
        exports = build_scored_exports(result, cfg.tiering.actions, cfg.export, os.environ.get(cfg.export.salt_env))
    except user_errors() as exc:
        _fail(str(exc))
    io.write_parquet(exports.table, out / "tiers.parquet")
    io.write_csv(exports.table, out / "tiers.csv")
    if exports.workbook:
        io.write_bytes(exports.workbook, out / "tiers.xlsx")
    io.write_parquet(prepared.rejected, out / "rejected.parquet")
    console.print(f"scored {len(result.table):,} customers as of {result.table['as_of'].iloc[0]} with models "
                  f"`{model}`; {prepared.quality['rows_rejected']:,} rows rejected. Exports in {out}/")


@app.command()
def ui(port: int = typer.Option(5000), overrides: Overrides = None) -> None:
    """Open the MLflow UI on 127.0.0.1 against the project's tracking store."""
    _, cfg = _config(overrides)
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    console.print(f"MLflow UI on http://127.0.0.1:{port} (store {cfg.tracking.uri}); Ctrl+C to stop")
    raise typer.Exit(subprocess.call([mlflow, "ui", "--backend-store-uri", cfg.tracking.uri,
                                      "--host", "127.0.0.1", "--port", str(port)]))


if __name__ == "__main__":
    app()
