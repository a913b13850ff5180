"""`segml` command line: generate demo data, compose config, run the pipeline, score, open MLflow."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from segml.app.console import console
from segml.config import PARAMS_FILE

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
    from segml.app.checks import checked
    from segml.app.params import compose
    from segml.errors import ConfigError

    try:
        raw = compose(overrides or [])
        return raw, checked(raw)
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
        help="default (years of a growing business) | cohort (one acquisition wave in the first "
        "quarter, repeat rates decaying with tenure) | subscription (a telecom-like operator's "
        "subscriptions, payments and usage; data= and paths=subscription_demo) | both (that "
        "operator's shop too: purchases; data= and paths=both_demo)",
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


def _generate_subscriptions(customers: int, seed: int, start: str, end: str, overrides, shape):
    from segml.app.demo_data import (
        SUBSCRIPTION,
        subscription_overrides,
        write_both_demo,
        write_subscription_demo,
    )

    _, cfg = _config(subscription_overrides(overrides, shape))
    write = write_subscription_demo if shape == SUBSCRIPTION else write_both_demo
    with console.status(f"generating {customers:,} customers ({shape})..."):
        console.print(write(cfg, customers, seed, start, end))


def _generate(
    customers: int,
    seed: int,
    start: str,
    end: str,
    overrides: list[str] | None,
    shape: str = "default",
) -> None:
    from segml.data import io
    from segml.data.attributes import customer_mapping
    from segml.data.generate import generate as make

    if shape in ("subscription", "both"):
        return _generate_subscriptions(customers, seed, start, end, overrides, shape)
    _, cfg = _config(overrides)
    with console.status(f"generating {customers:,} customers..."):
        demo = make(customers, start, end, seed, shape=shape)
        tx = demo.transactions.rename(columns={k: v for k, v in cfg.data.columns.items() if v})
        attrs = demo.customers.rename(
            columns={k: v for k, v in customer_mapping(cfg.data).items() if v}
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
    from segml.app.pins import run_pins
    from segml.errors import ConfigError

    overrides = list(overrides or [])
    before = conf_digest()  # an edit saved while Hydra composes leaves params.yaml stale
    raw, cfg = _config(overrides)  # composed once: the pins are set on it, as overrides would
    try:
        pins = run_pins(cfg, overrides)
    except ConfigError as exc:  # e.g. a moved project's MLflow store
        _fail(str(exc))
    for key, value in pins.items():
        group, name = key.split(".")
        raw[group][name] = value
    overrides += [f"{key}='{value}'" for key, value in pins.items()]
    write_params(raw, overrides=overrides, conf_state=before)
    console.print(f"params.yaml composed from conf/ with overrides {overrides}")


# what `dvc repro` itself prints (stages run or skipped, lock files, git hints): kept here, not on
# the console, which shows the stages' own lines; DVC's warnings and errors still go to the console
DVC_LOG = Path("logs") / "dvc-repro.log"


def _dvc(*args: str, log: Path | None = None) -> int:
    """Run DVC in this environment; with `log`, its standard output (DVC's progress lines, never its
    warnings or errors, which go to standard error) goes to that file."""
    # stages run `python ...`: make sure that is this environment's python
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DVC_NO_ANALYTICS": "1",
    }
    command = [sys.executable, "-m", "dvc", *args]
    if log is None:
        return subprocess.call(command, env=env)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as out:
        return subprocess.call(command, env=env, stdout=out)


def _ensure_dvc_repo() -> None:
    if not Path(".dvc").is_dir():
        _dvc("init", "-q", *([] if Path(".git").exists() else ["--no-scm"]))


def _report_repro(log: Path) -> None:
    """What the stages' own lines do not say: stages restored from DVC's run cache, or that nothing
    had to run."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    for stage in re.findall(r"Stage '([^']+)' is cached - skipping run", text):
        console.print(
            f"[green]✓[/green] {stage} restored from DVC's run cache (same inputs as before)"
        )
    if "Running stage" not in text and "is cached" not in text:
        console.print("[green]✓[/green] every stage is up to date: nothing to rerun")


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
    """Compose params.yaml and run `dvc repro`. When either fails, params.yaml is put back as it
    was, so `dvc repro` and `dvc status` go on seeing the last configuration that composed and ran."""
    params = Path(PARAMS_FILE)
    before = params.read_bytes() if params.exists() else None
    try:
        _compose(overrides)
        _ensure_dvc_repo()
        code = _dvc("repro", *(["--force"] if force else []), log=DVC_LOG)
        if code != 0:
            _fail(
                f"dvc repro failed (exit {code}): the message is above; what DVC ran is in "
                f"{DVC_LOG}. params.yaml is back as it was before this run."
            )
    except BaseException:
        _restore(params, before)
        raise
    _report_repro(DVC_LOG)


def _restore(path: Path, content: bytes | None) -> None:
    """Put a file back as it was (`content` None: it did not exist)."""
    from segml.data import io

    if content is None:
        path.unlink(missing_ok=True)
    elif not path.exists() or path.read_bytes() != content:
        io.write_bytes(content, path)


@app.command()
def demo(
    shape: str = typer.Option(
        "default",
        help="default | subscription (data= and paths=subscription_demo) | both (both_demo)",
    ),
    overrides: Overrides = None,
) -> None:
    """Generate demo data (if absent) and run the whole pipeline on it."""
    from segml.app.demo_data import SHAPE_GROUPS, subscription_overrides

    overrides = subscription_overrides(overrides, shape)
    _, cfg = _config(overrides)
    first = cfg.paths.raw_subscriptions if shape in SHAPE_GROUPS else cfg.paths.raw_transactions
    with _one_at_a_time():
        if not Path(first).exists():
            _generate(20_000, 42, "2023-01-01", "2025-12-31", overrides, shape)
        _compose_and_repro(overrides)
    summary()


@app.command("relocate-store")
def relocate_store(overrides: Overrides = None) -> None:
    """Point a moved or copied project's MLflow store (sqlite) at this folder."""
    from segml.reporting.mlflow_store import moved_from, relocate

    _, cfg = _config(overrides)
    with _one_at_a_time():
        moved = moved_from(cfg.tracking.uri)
        if moved is None:
            return console.print("the MLflow store already points at this folder: nothing to do")
        kept = relocate(cfg.tracking.uri, moved)
    console.print(f"the MLflow store now points at this folder, not {moved} (as it was: {kept})")


@app.command()
def summary() -> None:
    """Print customers per tier, model metrics beside baselines, and where every output is."""
    from segml.app.params import load_config
    from segml.app.summary import print_summary
    from segml.data.catalog import Catalog

    cfg = load_config(check=False)
    print_summary(cfg, Catalog.from_config(cfg.paths))


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
    from segml.app.console import input_warnings

    with _one_at_a_time(), input_warnings():
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
    from segml.app.console import report_notes, user_errors
    from segml.stages.snapshot import registered_horizon

    _, cfg = _config(overrides)
    if cfg.data.kind != "transactions":  # before any file or model is read
        _fail(
            f"`segml score` reads a transactions file; this project's data.kind is {cfg.data.kind!r}: "
            "grade subscribers with `segml run` (scoring with registered models is not built yet)."
        )
    try:
        customers, note = _customer_file(cfg, customers)
        catalog = _scoring_catalog(cfg, input, customers, out)
        with console.status(f"loading registered models ({model})..."):
            vocabulary, record = _load_registered(cfg, catalog, model)
        cfg = _scoring_config(cfg, input, customers, as_of, registered_horizon(catalog), model)
        console.print(f"scoring with the {record['en']}")
        if note:
            console.print(note)
        used = [*vocabulary.attributes, *vocabulary.measures] if vocabulary else []
        if customers is None and used:
            console.print(
                f"[yellow]warning:[/yellow] no customer file: the models use customer attributes "
                f"({', '.join(used)}); every customer is scored with them missing, "
                "and customers who never bought are not listed. Pass --customers."
            )
        pipeline.score(cfg, catalog, allow_short_history, lambda name: console.status(f"{name}..."))
    except user_errors() as exc:
        _fail(str(exc))
    tiers, quality = catalog.read("tiers"), catalog.read("data_quality")
    report_notes(quality["notes"])
    moved = catalog.read("tier_metrics")
    since = (
        f"movement since {moved['previous_as_of']}"
        if moved.get("previous_as_of")
        else "no earlier period to compare with"
    )
    console.print(
        f"scored {len(tiers):,} customers as of {tiers['as_of'].iloc[0]} with models `{model}` "
        f"(v{record['version']}, trained as of {record['as_of']}); {since}; "
        f"{quality['rows_rejected']:,} rows rejected (kept in {rejected_rows_file(cfg, out)}). "
        f"Exports in {out}/; "
        f"recorded as MLflow run {catalog.read('mlflow_run')['run_id'][:8]}"
    )


def _customer_file(cfg, customers: Path | None) -> tuple[Path | None, str | None]:
    """The customer file to score with: --customers, else the project's own (`paths.raw_customers`,
    what the pipeline and the models were trained with), so customers who never bought stay
    listed; a note says which was taken."""
    if customers is not None:
        return customers, None
    default = Path(cfg.paths.raw_customers) if cfg.paths.raw_customers else None
    if default is not None and default.exists():
        return default, (
            f"customer attributes from {default} (paths.raw_customers, as the pipeline reads them); "
            "pass --customers to use another file"
        )
    return None, None


def _scoring_catalog(cfg, input: Path, customers: Path | None, out: Path):
    """The exports and the rejected rows as files in `out`, everything else held in memory,
    starting with the user's export (read here, so messages name the command's options)."""
    from segml.data.catalog import Catalog
    from segml.data.raw import read_raw_inputs
    from segml.stages.artifacts import EXPORT_NAMES

    files = [*EXPORT_NAMES.values(), "report"]
    given = {"raw_transactions": input, **({"raw_customers": customers} if customers else {})}
    given["rejected"] = rejected_rows_file(cfg, out)
    catalog = Catalog.from_config(cfg.paths).under(out, files).at(given)
    catalog = catalog.in_memory([*files, "rejected"])
    # a customer file named on the command line must exist
    data = dataclasses.replace(cfg.data, customers_optional=not customers)
    raw, raw_customers = read_raw_inputs(input, customers, data, keys=("--input", "--customers"))
    catalog.write("raw_transactions", raw)
    if raw_customers is not None:
        catalog.write("raw_customers", raw_customers)
    return catalog


def rejected_rows_file(cfg, out: Path) -> Path:
    """Where `segml score` keeps the rejected rows, whole (ids and all, so the source can be
    fixed): beside the exports, or, when the exports are pseudonymised, inside the project as
    the pipeline's are (`paths.rejected_scored`), so no clear id lands in the shared folder."""
    if cfg.export.pseudonymize_ids:
        return Path(cfg.paths.rejected_scored)
    return Path(out) / Path(cfg.paths.rejected).name


def _scoring_config(
    cfg, input: Path, customers: Path | None, as_of: str | None, horizon: int, model: str
):
    """`cfg` for scoring: the scored files as the export (earlier periods are those of it), the
    scoring date, the churn window the registered models were trained for (`horizon`: they
    predict that window, whatever `labels.horizon_days` says now), and the earlier periods
    pinned as `segml compose` pins them for the pipeline."""
    paths = dataclasses.replace(
        cfg.paths,
        raw_transactions=str(input),
        raw_customers=str(customers) if customers else "",
    )
    labels = cfg.labels
    if horizon != labels.horizon_days:
        console.print(
            f"note: the models `{model}` predict {horizon} days ahead: scored with that churn "
            f"window (labels.horizon_days={labels.horizon_days} applies to training)"
        )
        labels = dataclasses.replace(labels, horizon_days=horizon)
    cfg = dataclasses.replace(cfg, paths=paths, labels=labels, as_of=as_of)
    if not Path(cfg.tracking.uri.removeprefix("sqlite:///")).exists():
        return cfg
    from segml.app.pins import file_digest_of, period_pins

    pins = period_pins(cfg, file_digest_of(input, customers))
    # a pin given as an override stays
    previous = cfg.tiering.previous_ref or pins.get("tiering.previous_ref")
    tiering = dataclasses.replace(cfg.tiering, previous_ref=previous)
    audit = dataclasses.replace(
        cfg.audit, periods_ref=cfg.audit.periods_ref or pins.get("audit.periods_ref")
    )
    return dataclasses.replace(cfg, tiering=tiering, audit=audit)


def _load_registered(cfg, catalog, model: str):
    """The registered models (`model`: alias or version), their vocabulary, and the metrics, plot
    tables and segment profile of the run that trained them (the report shows model quality from
    there), as catalog entries; returns the vocabulary and the set's record (`model_set`)."""
    from segml.data.catalog import Catalog
    from segml.errors import InputError
    from segml.reporting import run_history
    from segml.stages.artifacts import MODELS

    uri = cfg.tracking.uri
    found = run_history.load_model_set(uri, cfg.paths.in_mlflow_run, model, tuple(MODELS))
    if found is None:
        raise InputError(
            f"no registered model set `{model}` in {uri}: run the pipeline first (`segml run`), "
            "or pass --model with a registered version number"
        )
    for name, entry in MODELS.items():
        catalog.write(entry, found.models[name])
    record = {**dataclasses.asdict(dataclasses.replace(found, models=None)), **found.describe()}
    record.pop("models", None)
    catalog.write("model_set", record)
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
    return vocabulary, record


@app.command()
def window(
    horizons: str = typer.Option(
        "30,60,90,180", help="churn windows to compare, in days, comma-separated"
    ),
    sample: Optional[int] = typer.Option(
        None,
        help="study at most this many customers (those whose ids hash lowest); on big data "
        "50,000 measure ROC AUC to about 0.002, less than windows differ by",
    ),
    report: bool = typer.Option(True, help="write the exports again so the report shows it"),
) -> None:
    """Compare churn windows on this data: churn rate, models' quality and lifecycle changes per
    window (the features and train stages again for each), for the report's "Choosing the churn
    window"."""
    with _one_at_a_time():
        _window(horizons, sample, report)


def _window(horizons: str, sample: int | None, report: bool) -> None:
    from segml.app.console import report_window
    from segml.app.engine import engine_for
    from segml.app.params import load_config
    from segml.app.window import window_study, window_table
    from segml.data.catalog import Catalog
    from segml.stages import export

    try:
        days = sorted({int(h) for h in horizons.split(",") if h.strip()})
    except ValueError:
        _fail(f"--horizons {horizons!r}: give whole days separated by commas, e.g. 30,60,90,180")
    cfg = load_config()
    if cfg.data.kind != "transactions":  # its study reads purchases only
        _fail(f"`segml window` studies purchase churn windows; data.kind is {cfg.data.kind!r}.")
    catalog = Catalog.from_config(cfg.paths)
    if not catalog.exists("prepared_transactions"):
        _fail("no prepared data yet: run `segml run` (or `segml demo`) first")
    study = window_study(
        cfg,
        catalog.read("prepared_transactions"),
        catalog.read_optional("prepared_customers"),
        days,
        sample,
        progress=lambda h: console.print(f"  churn window {h} days..."),
    )
    catalog.write("window_metrics", study)
    catalog.write("window_plot", window_table(study), bom=False)
    report_window(study)
    if report and catalog.exists("tiers"):
        with console.status("writing the exports again with the window study..."):
            export.run(cfg, catalog, engine_for(cfg))
        console.print(f"  the report shows it: {catalog.path('report')}")


@app.command()
def ui(port: int = typer.Option(5000), overrides: Overrides = None) -> None:
    """Open the MLflow UI on 127.0.0.1 against the project's tracking store."""
    from segml.reporting.run_history import experiment_id

    _, cfg = _config(overrides)
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    found = experiment_id(cfg.tracking.uri, cfg.tracking.experiment)
    # the experiment's runs; MLflow 3's UI otherwise opens on its GenAI pages (traces)
    page = f"experiments/{found}/runs" if found else ""
    console.print(
        f"MLflow UI on http://127.0.0.1:{port}/#/{page}?workflowType=machine_learning "
        f"(store {cfg.tracking.uri}; it takes up to a minute to start); Ctrl+C to stop"
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
