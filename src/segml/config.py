"""Typed configuration: a dataclass per group of `conf/`, and the checks a composed config passes.

`to_typed` turns a composed config (a plain dict) into a `Config`: unknown keys, wrong types and
unknown choices (scorers, the engine, the tier policy: `TIER_POLICIES`, the one list of their
names) fail here, at start-up, with the key to fix. Composing `conf/` with Hydra, writing
`params.yaml` and refusing a stale one are `segml.app.params`'s job; every stage reads its typed
config through that module. This module reads no file but params.yaml's header
(`recorded_overrides`, which MLflow logging needs below the app layer) and imports nothing of
segml but its errors, so every layer may use it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from omegaconf import MISSING, OmegaConf

from segml.errors import ConfigError

PARAMS_FILE = "params.yaml"  # the composed config every stage reads (see segml.app.params)
SCORERS = ("auto", "model", "baseline")
ENGINES = ("local", "dask")
# the tier policies `tiering.primary` may name; each has its settings group in conf/tiering
TIER_POLICIES = ("abc", "pyramid", "value_potential")


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
    movement_new: str = MISSING
    movement_gone: str = MISSING
    audit_metrics: str = MISSING
    fold_scores: str = MISSING
    model_set: str = MISSING
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
class AuditConfig:
    """The audit of earlier periods' grades (conf/audit)."""

    min_elapsed_days: int = 28  # a period is audited once this much of its horizon has passed
    max_periods: int = 6  # the most recent earlier periods audited
    probability_bands: list[float] = field(
        default_factory=lambda: [round(0.1 * i, 1) for i in range(11)]
    )
    psi_columns: list[str] = field(default_factory=list)  # features and scores checked for drift
    psi_bins: int = 10
    psi_warning: float = 0.25  # a population stability index above this is drift
    periods_ref: str | None = None  # pinned by `segml compose`: the periods audited


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
    audit: AuditConfig = field(default_factory=AuditConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    dask: DaskConfig = field(default_factory=DaskConfig)
    engine: str = "local"  # local: in memory, one process | dask: customer partitions on a cluster
    as_of: str | None = None
    seed: int = 42


def salt_fingerprint(salt: str) -> str:
    """12 hex of SHA-256 over a fixed prefix and the salt: tells salts apart, reveals nothing of one."""
    return hashlib.sha256(f"segml-salt-fingerprint{salt}".encode()).hexdigest()[:12]


def _missing_salt(salt_env: str) -> ConfigError:
    return ConfigError(
        f"export.pseudonymize_ids is on but the environment variable {salt_env} is not set: "
        f"set it to a secret salt (e.g. `export {salt_env}=...`; it is never written or logged), "
        "or turn pseudonymisation off with export.pseudonymize_ids=false."
    )


def with_salt_fingerprint(raw: dict) -> dict:
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
    """Validate a composed config against the schema; unknown keys, wrong types and unknown
    choices fail here."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), raw)
        typed = OmegaConf.to_object(merged)
    except Exception as exc:  # omegaconf raises several error types; all mean "fix the config"
        raise ConfigError(f"Invalid configuration: {exc}") from exc
    _check_choices(typed)
    if typed.as_of is not None:
        typed.as_of = _iso_date(typed.as_of)
    return typed


def _check_choices(typed: Config) -> None:
    """Settings that name one of a few things name one that exists."""
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
    primary = typed.tiering.primary
    if primary not in TIER_POLICIES:
        guess = _did_you_mean(primary, TIER_POLICIES)
        raise ConfigError(
            f"tiering.primary={primary!r} is not a tier policy.{guess}"
            f" Use one of {list(TIER_POLICIES)} (set in conf/tiering, or e.g. "
            "`segml run tiering.primary=pyramid`)."
        )


def _did_you_mean(value: Any, choices: tuple[str, ...]) -> str:
    """' Did you mean 'x'?' for the choice closest to a mistyped value, or ''."""
    close = difflib.get_close_matches(str(value).strip().lower(), choices, n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def _iso_date(value: Any) -> str:
    try:
        return str(date.fromisoformat(str(value)))
    except ValueError:
        raise ConfigError(
            f"as_of={value!r} is not a date: write it as YYYY-MM-DD "
            "(e.g. `segml run as_of=2025-12-31`), or null for the last date in the data."
        ) from None


def recorded_overrides(path: str | Path = PARAMS_FILE) -> list[str]:
    """The overrides params.yaml was composed with (from the header `segml.app.params.write_params`
    writes)."""
    for line in Path(path).read_text(encoding="utf-8").splitlines()[:3]:
        if line.startswith("# overrides:"):
            return yaml.safe_load(line.removeprefix("# overrides:")) or []
    return []
