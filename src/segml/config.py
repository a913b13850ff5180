"""Typed configuration: Hydra composes `conf/` into `params.yaml`; stages read it back typed.

Why two steps: `dvc repro` never composes Hydra configs and `dvc exp run` composes them into
`params.yaml`. So `params.yaml` is the one input every stage reads (DVC tracks its keys per stage),
and `check_fresh` refuses to run when `conf/` says something else, so an edit to `conf/` can never
be silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from omegaconf import MISSING, OmegaConf

from segml.errors import ConfigError

PARAMS_FILE = "params.yaml"
CONF_DIR = "conf"
SCORERS = ("auto", "model", "baseline")


@dataclass
class RunFilesConfig:
    """Where each artifact lives inside an MLflow run (conf/paths `in_mlflow_run`). Later runs and
    `segml score` read earlier runs by these names."""

    tier_sample: str = MISSING
    tier_counts: str = MISSING
    full_table: str = MISSING
    movement_base: str = MISSING
    model_spec: str = MISSING
    model_booster: str = MISSING
    model_object: str = MISSING  # "{name}" = churn, upside or segmenter


@dataclass
class PathsConfig:
    """The artifact catalog (conf/paths): folders, then every file by name."""

    in_mlflow_run: RunFilesConfig = field(default_factory=RunFilesConfig)
    raw_dir: str = MISSING
    prepared_dir: str = MISSING
    no_purchase_customers: str = MISSING
    features_dir: str = MISSING
    segments_dir: str = MISSING
    tiers_dir: str = MISSING
    models_dir: str = MISSING
    metrics_dir: str = MISSING
    plots_dir: str = MISSING
    exports_dir: str = MISSING
    raw_transactions: str = MISSING
    raw_customers: str = MISSING
    ground_truth: str = MISSING
    prepared_transactions: str = MISSING
    prepared_customers: str = MISSING
    rejected: str = MISSING
    data_quality: str = MISSING
    labelled: str = MISSING
    snapshot: str = MISSING
    vocabulary: str = MISSING
    schedule: str = MISSING
    segmenter: str = MISSING
    segments: str = MISSING
    segment_profile: str = MISSING
    segment_metrics: str = MISSING
    churn_model: str = MISSING
    upside_model: str = MISSING
    churn_metrics: str = MISSING
    upside_metrics: str = MISSING
    calibration_plot: str = MISSING
    deciles_plot: str = MISSING
    lift_plot: str = MISSING
    backtest_plot: str = MISSING
    churn_image: str = MISSING
    deciles_image: str = MISSING
    tiers: str = MISSING
    tier_summary: str = MISSING
    movement_matrix: str = MISSING
    movement_upgrades: str = MISSING
    movement_downgrades: str = MISSING
    tier_metrics: str = MISSING
    export_parquet: str = MISSING
    export_csv: str = MISSING
    export_xlsx: str = MISSING
    report: str = MISSING
    mlflow_run: str = MISSING


@dataclass
class DataConfig:
    format: str = "csv"  # csv | parquet | xlsx | xls
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: Any = None  # workbooks: sheet name or 0-based position (None: the first)
    # the customer file may differ from the transactions file; None = same as above
    customers_format: str | None = None
    customers_encoding: str | None = None
    customers_sheet: Any = None
    customers_optional: bool = True
    columns: dict[str, Any] = field(default_factory=dict)
    customer_columns: dict[str, Any] = field(default_factory=dict)
    timestamp_format: str | None = None
    dayfirst: bool = False
    timezone: str | None = None
    currency_symbols: list[str] = field(default_factory=list)
    thousands_separator: str = ","
    decimal: str = "."
    max_abs_amount: float = 1e6
    drop_zero_amounts: bool = True
    max_tail_gap_days: int = 31

    def read_options(self, customers: bool = False) -> dict[str, Any]:
        """`raw.read_raw_table` settings for the transactions file or (`customers`) the customer
        file, with the config keys its messages should name."""
        if not customers:
            return {
                "fmt": self.format,
                "encoding": self.encoding,
                "delimiter": self.delimiter,
                "sheet": self.sheet,
            }
        return {
            "fmt": self.customers_format or self.format,
            "encoding": self.customers_encoding or self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.customers_sheet,
            "encoding_key": "data.customers_encoding",
            "format_key": "data.customers_format",
            "sheet_key": "data.customers_sheet",
        }


@dataclass
class LabelsConfig:
    horizon_days: int = 90
    n_training_cutoffs: int = 8
    cutoff_spacing_days: int = 30
    min_history_days: int = 60
    backtest_folds: int = 3
    fold_spacing_days: int = 30
    active_within_days: int | None = 365
    sufficiency: dict[str, Any] = field(default_factory=dict)


@dataclass
class FeaturesConfig:
    windows_days: list[int] = field(default_factory=lambda: [30, 90, 180, 365])
    top_categories: int = 8
    top_channels: int = 4
    use_attributes: bool = True
    use_bgnbd: bool = True


@dataclass
class SegmentConfig:
    k: Any = "auto"
    k_range: list[int] = field(default_factory=lambda: [4, 8])
    features: list[str] = field(default_factory=list)
    log_scale: bool = True
    silhouette_sample: int = 5000
    n_init: int = 10
    stability_seeds: int = 3
    fit_sample: int | None = 200_000  # customers KMeans is fitted on; everyone is assigned
    personas: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    params: dict[str, Any] = field(default_factory=dict)
    n_estimators: int = 2000
    early_stopping_rounds: int = 50
    holdout_share: float = 0.2
    monotone: dict[str, int] = field(default_factory=dict)
    max_rows_per_cutoff: int | None = 25_000
    max_validation_rows: int | None = 200_000
    scorer: str = "auto"
    grade_a_margin: float = 0.02


@dataclass
class ChurnConfig(ModelConfig):
    calibration: str = "auto"


@dataclass
class UpsideConfig(ModelConfig):
    pass


@dataclass
class TieringConfig:
    primary: str = "abc"
    value_window_days: int = 365
    abc: dict[str, Any] = field(default_factory=dict)
    pyramid: dict[str, Any] = field(default_factory=dict)
    value_potential: dict[str, Any] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    rfm: dict[str, Any] = field(default_factory=dict)
    coherence: dict[str, Any] = field(default_factory=dict)
    hysteresis: float = 0.0
    previous: str | None = "accepted"
    previous_ref: str | None = None
    teams: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExportConfig:
    language: str = "both"
    formats: list[str] = field(default_factory=lambda: ["parquet", "csv", "xlsx"])
    report: bool = True
    pseudonymize_ids: bool = False
    salt_env: str = "SEGML_ID_SALT"
    salt_fingerprint: str | None = None  # written by `segml compose`, see salt_fingerprint()
    columns: list[str] | None = None
    workbook_customers: int | None = 10_000  # tier-sheet rows; None = all (Excel's limit applies)
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrackingConfig:
    uri: str = "sqlite:///mlflow.db"
    experiment: str = "segml"
    register_models: bool = True
    auto_promote: bool = True
    sample_rows: int = 100
    log_full_table: bool = False
    log_report: bool = False


@dataclass
class DaskConfig:
    """The `dask` engine (conf/dask): where it runs and how the data is split."""

    address: str = ""  # an existing scheduler (tcp://host:8786); empty = a LocalCluster for the run
    n_workers: int = 2  # LocalCluster only
    threads_per_worker: int = 1
    memory_limit: str = "8GB"  # per LocalCluster worker; a task above it is stopped, not swapped
    partitions: int = 16  # customer partitions: each worker holds one at a time
    local_directory: str = "logs/dask"  # LocalCluster spill and scratch space


ENGINES = ("local", "dask")


@dataclass
class Config:
    paths: PathsConfig = field(default_factory=PathsConfig)
    data: DataConfig = field(default_factory=DataConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    churn: ChurnConfig = field(default_factory=ChurnConfig)
    upside: UpsideConfig = field(default_factory=UpsideConfig)
    tiering: TieringConfig = field(default_factory=TieringConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    dask: DaskConfig = field(default_factory=DaskConfig)
    engine: str = "local"  # local: in memory, one process | dask: customer partitions on a cluster
    as_of: str | None = None
    seed: int = 42


def compose(overrides: list[str] | None = None, conf_dir: str | Path = CONF_DIR) -> dict:
    """Compose `conf/` with Hydra overrides (e.g. ``labels.horizon_days=60``) into a plain dict."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(Path(conf_dir).resolve()), version_base="1.3"):
        cfg = hydra_compose(config_name="config", overrides=list(overrides or []))
    return _with_salt_fingerprint(OmegaConf.to_container(cfg, resolve=True))


def salt_fingerprint(salt: str) -> str:
    """12 hex of SHA-256 over a fixed prefix and the salt: tells salts apart, reveals nothing of one."""
    return hashlib.sha256(f"segml-salt-fingerprint{salt}".encode()).hexdigest()[:12]


def _missing_salt(salt_env: str) -> ConfigError:
    return ConfigError(
        f"export.pseudonymize_ids is on but the environment variable {salt_env} is not set: "
        f"set it to a secret salt (e.g. `export {salt_env}=...`; it is never written or logged), "
        "or turn pseudonymisation off with export.pseudonymize_ids=false."
    )


def _with_salt_fingerprint(raw: dict) -> dict:
    """With pseudonymisation on, put the salt's fingerprint in `export.salt_fingerprint`.

    It is a parameter of the DVC export stage, so a new salt re-runs export (new pseudonyms);
    the salt itself never leaves the environment. A missing salt stops here, before any stage runs.
    """
    export = raw.get("export")
    if not isinstance(export, dict) or not export.get("pseudonymize_ids"):
        return raw
    salt_env = export.get("salt_env") or ExportConfig.salt_env
    salt = os.environ.get(salt_env)
    if not salt:
        raise _missing_salt(salt_env)
    export["salt_fingerprint"] = salt_fingerprint(salt)
    return raw


def export_salt(cfg: ExportConfig) -> str | None:
    """The salt from the environment, checked against the fingerprint params.yaml was composed with.

    None when pseudonymisation is off. Stops (ConfigError naming the variable) when the salt is
    unset, or is not the one of params.yaml (e.g. `dvc exp run` composes conf/ without it).
    """
    if not cfg.pseudonymize_ids:
        return None
    salt = os.environ.get(cfg.salt_env)
    if not salt:
        raise _missing_salt(cfg.salt_env)
    if cfg.salt_fingerprint != salt_fingerprint(salt):
        raise ConfigError(
            f"The salt in {cfg.salt_env} is not the one params.yaml was composed with "
            f"(export.salt_fingerprint is {cfg.salt_fingerprint}). Run `segml run` (it recomposes and "
            f"re-pseudonymises), or with `dvc exp run` add `-S export.salt_fingerprint={salt_fingerprint(salt)}`."
        )
    return salt


def to_typed(raw: dict) -> Config:
    """Validate a composed config against the schema; unknown keys and wrong types fail here."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), raw)
        typed = OmegaConf.to_object(merged)
    except Exception as exc:  # omegaconf raises several error types; all mean "fix the config"
        raise ConfigError(f"Invalid configuration: {exc}") from exc
    for name in ("churn", "upside"):
        if getattr(typed, name).scorer not in SCORERS:
            raise ConfigError(
                f"{name}.scorer={getattr(typed, name).scorer!r}: use one of {list(SCORERS)} "
                "(auto = the model unless its backtest does not beat the best baseline)."
            )
    if typed.engine not in ENGINES:
        raise ConfigError(
            f"engine={typed.engine!r}: use one of {list(ENGINES)} (dask runs prepare, features, "
            "tier and export's table per partition of customers; see conf/dask)."
        )
    if typed.dask.partitions < 1:
        raise ConfigError(f"dask.partitions={typed.dask.partitions}: use 1 or more.")
    if typed.as_of is not None:
        try:
            typed.as_of = str(date.fromisoformat(str(typed.as_of)))
        except ValueError:
            raise ConfigError(
                f"as_of={typed.as_of!r} is not a date: write it as YYYY-MM-DD "
                "(e.g. `segml run as_of=2025-12-31`), or null for the last date in the data."
            ) from None
    return typed


def write_params(
    raw: dict,
    path: str | Path = PARAMS_FILE,
    overrides: list[str] | None = None,
    conf_dir: str | Path = CONF_DIR,
    conf_state: str | None = None,
) -> None:
    """Write the composed config as params.yaml, with the overrides that produced it and the
    digest of its inputs (so `check_fresh` can tell it is fresh without composing again).

    `conf_state`: `conf_digest` taken before composing, so an edit saved meanwhile leaves
    params.yaml stale rather than fresh (taken now when not given)."""
    overrides = list(overrides or [])
    body = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    state = conf_digest(conf_dir) if conf_state is None else conf_state
    header = (
        "# GENERATED from conf/ by `segml compose` (or `dvc exp run`). Edit conf/, not this file.\n"
        f"# overrides: {_one_line(overrides)}\n"
        f"# inputs: {_inputs_digest(state, overrides, body) or 'not recorded'}\n"
    )
    from segml.data.io import write_text

    write_text(header + body, path)


def conf_digest(conf_dir: str | Path = CONF_DIR) -> str:
    """SHA-256 over the files under `conf/` (symlinked folders followed, as Hydra follows them) and
    their paths; "" when it cannot stand for what Hydra reads (an unreadable file, or a search
    path that reaches outside `conf/`): stages then compose every time."""
    from segml.data.provenance import file_digest

    root = Path(conf_dir)
    walked = os.walk(root, followlinks=True)
    files = sorted(Path(folder) / name for folder, _, names in walked for name in names)
    try:
        if any("searchpath" in f.read_text(encoding="utf-8", errors="replace") for f in files):
            return ""
        names = json.dumps([f.relative_to(root).as_posix() for f in files])
        return hashlib.sha256(f"{names}\0{file_digest(*files)}".encode()).hexdigest()
    except OSError:
        return ""


def _inputs_digest(conf_state: str, overrides: list[str], body: str) -> str:
    """SHA-256 over what a composed params.yaml depends on: `conf/` (its `conf_digest`), the
    overrides, the salt in the environment when ids are pseudonymised (as its fingerprint), and
    the composed text itself (so a hand edit is seen); "" when `conf/` has no digest."""
    if not conf_state:
        return ""
    export = (yaml.safe_load(body) or {}).get("export") or {}
    salt_env = export.get("salt_env") or ExportConfig.salt_env
    salt = os.environ.get(salt_env, "") if export.get("pseudonymize_ids") else ""
    text = f"{conf_state}\0{json.dumps(overrides)}\0{salt_fingerprint(salt)}\0{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _params_parts(path: Path) -> tuple[str | None, str]:
    """The recorded inputs digest of params.yaml (None if it has none) and its YAML body."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line for line in lines[:3] if line.startswith("#")]
    recorded = [line.removeprefix("# inputs:").strip() for line in header if "# inputs:" in line]
    return (recorded[0] if recorded else None), "".join(lines[len(header) :])


# characters YAML or Python's splitlines() take as a line break that JSON leaves unescaped
_HIDDEN_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _one_line(values: list[str]) -> str:
    """A YAML flow list on a single line, whatever the values hold (quotes, CJK, line breaks).

    JSON is valid YAML and never wraps; yaml.safe_dump wraps long lines, and a wrapped comment
    line is no longer a comment, which leaves params.yaml unreadable for DVC.
    """
    text = json.dumps(values, ensure_ascii=False)
    for char, escaped in _HIDDEN_LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text


def recorded_overrides(path: str | Path = PARAMS_FILE) -> list[str]:
    """The overrides params.yaml was composed with (from its header)."""
    for line in Path(path).read_text(encoding="utf-8").splitlines()[:3]:
        if line.startswith("# overrides:"):
            return yaml.safe_load(line.removeprefix("# overrides:")) or []
    return []


def _first_difference(a: Any, b: Any, prefix: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                return where
            found = _first_difference(a[key], b[key], where)
            if found:
                return found
        return None
    return None if a == b else (prefix or "<root>")


def check_fresh(params_path: str | Path = PARAMS_FILE, conf_dir: str | Path = CONF_DIR) -> None:
    """Refuse to run on a params.yaml that no longer matches `conf/`.

    Inside `dvc exp run` DVC has just composed params.yaml itself (with any -S overrides), so it
    is fresh by construction and the check is skipped.
    """
    params_path = Path(params_path)
    if os.environ.get("DVC_EXP_NAME") or not Path(conf_dir).is_dir():
        return
    recorded, body = _params_parts(params_path)
    overrides = recorded_overrides(params_path)
    if recorded and recorded == _inputs_digest(conf_digest(conf_dir), overrides, body):
        return  # same conf files, overrides, salt and text: composing again (2-3 s) gives the same
    on_disk = yaml.safe_load(body)
    expected = compose(overrides, conf_dir)
    key = _first_difference(expected, on_disk)
    if key == "export.salt_fingerprint":
        raise ConfigError(
            f"The salt in the environment variable {expected['export']['salt_env']} differs from the one "
            f"{params_path} was composed with: run `segml run` so the export stage re-pseudonymises ids."
        )
    if key:
        raise ConfigError(
            f"{params_path} is out of date with {conf_dir}/ (first difference at `{key}`). "
            "`dvc repro` does not compose Hydra configs: run `segml run` (compose + repro), "
            "or `segml compose` then `dvc repro`, or `dvc exp run`."
        )


def load_config(params_path: str | Path = PARAMS_FILE, check: bool = True) -> Config:
    """Load params.yaml as a typed Config (the entry point of every stage)."""
    params_path = Path(params_path)
    if not params_path.exists():
        raise ConfigError(f"{params_path} not found: run `segml compose` to create it from conf/.")
    if check:
        check_fresh(params_path)
    return to_typed(yaml.safe_load(params_path.read_text(encoding="utf-8")))
