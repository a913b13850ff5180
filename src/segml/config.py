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
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from omegaconf import MISSING

from segml.errors import ConfigError
from segml.typed_merge import merged

PARAMS_FILE = "params.yaml"  # the composed config every stage reads (see segml.app.params)
SCORERS = ("auto", "model", "baseline", "blend")
SCHEDULES = ("auto", "fixed")  # labels.schedule
BLENDS = ("auto", "off")  # churn.blend, upside.blend
TOTAL_CALIBRATIONS = ("auto", "on", "off")  # upside.total_calibration
ENGINES = ("local", "dask")
# how negative amounts may be written (`data.negatives`), besides a leading minus
NEGATIVE_STYLES = ("parentheses", "trailing_minus")
PAST_END = ("stop", "export_end")  # `data.as_of_past_end`
KINDS = ("transactions", "subscriptions", "both")  # data.kind: what behaviour is recorded as
ATTRIBUTE_TYPES = ("category", "number", "date", "yes_no")  # data.customer_columns.<name>.type
KIND_ENGINES = {"subscriptions": ("local",), "both": ("local",)}  # a kind's engines (others: all)
SUFFICIENCY = ("untrained", "stop", "warn")  # `labels.sufficiency.on_failure`
# words a total or subtotal row carries in its id (or first) cell (`data.total_labels`)
TOTAL_LABELS = ("合计", "总计", "小计", "总合计", "合計", "總計", "小計")
TOTAL_LABELS += ("total", "subtotal", "grand total", "sum")
ON_MISSING_COLUMN = ("warn", "stop")  # data.on_missing_column
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
    raw_subscriptions: str = MISSING
    raw_usage: str = MISSING
    raw_payments: str = MISSING
    ground_truth: str = MISSING
    prepared_transactions: str = MISSING
    prepared_customers: str = MISSING
    prepared_subscriptions: str = MISSING
    prepared_usage: str = MISSING
    prepared_payments: str = MISSING
    rejected: str = MISSING
    rejected_scored: str = MISSING
    data_quality: str = MISSING
    data_quality_details: str = MISSING
    labelled: str = MISSING
    snapshot: str = MISSING
    vocabulary: str = MISSING
    schedule: str = MISSING
    schedule_details: str = MISSING
    segmenter: str = MISSING
    segments: str = MISSING
    segment_profile: str = MISSING
    segment_metrics: str = MISSING
    segment_metrics_details: str = MISSING
    churn_model: str = MISSING
    upside_model: str = MISSING
    churn_metrics: str = MISSING
    churn_metrics_details: str = MISSING
    upside_metrics: str = MISSING
    upside_metrics_details: str = MISSING
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
    window_metrics: str = MISSING
    window_plot: str = MISSING
    tier_metrics_details: str = MISSING
    movement_new: str = MISSING
    movement_gone: str = MISSING
    audit_metrics: str = MISSING
    audit_metrics_details: str = MISSING
    fold_scores: str = MISSING
    model_set: str = MISSING
    export_parquet: str = MISSING
    export_csv: str = MISSING
    export_xlsx: str = MISSING
    report: str = MISSING
    mlflow_run: str = MISSING


@dataclass
class DataConfig:
    format: str = "csv"  # csv | parquet | xlsx | xls (a folder's files: by their suffix)
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: Any = None  # workbooks: sheet name or 0-based position (None: the first)
    # 0-based row of the header, or auto: the first row holding the mapped column names
    header_row: Any = "auto"
    # the customer file may differ from the transactions file; None = same as above
    customers_format: str | None = None
    customers_encoding: str | None = None
    customers_sheet: Any = None
    customers_header_row: Any = None
    customers_optional: bool = True
    columns: dict[str, Any] = field(default_factory=dict)
    customer_columns: dict[str, Any] = field(default_factory=dict)
    # a mapped optional column missing from the file: warn and go on without it, or stop
    on_missing_column: str = "warn"
    timestamp_format: str | None = None
    dayfirst: bool = False
    timezone: str | None = None
    currency_symbols: list[str] = field(default_factory=list)
    thousands_separator: str = ","
    decimal: str = "."
    # negatives besides a leading minus: parentheses "(96.63)", trailing_minus "96.63-"
    negatives: list[str] = field(default_factory=lambda: list(NEGATIVE_STYLES))
    # rows whose id (or first) cell is one of these words are totals, skipped and counted
    total_labels: list[str] = field(default_factory=lambda: list(TOTAL_LABELS))
    max_abs_amount: float = 1e6
    drop_zero_amounts: bool = True
    # ids that differ only in letter case (C00012 / c00012): counted; true merges them
    merge_id_case: bool = False
    max_tail_gap_days: int = 31
    # as_of more than max_tail_gap_days after the last purchase: stop | export_end (grade as of it)
    as_of_past_end: str = "stop"
    # subscriptions: a table of spells (one plan, one price each) with optional usage and payments
    # (docs/design-subscriptions.md); each `{columns: {...}, <word maps>}`, empty for transactions
    kind: str = "transactions"
    subscriptions: dict[str, Any] = field(default_factory=dict)
    payments: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, Any] = field(default_factory=dict)
    # the values of category, channel, plan and category attributes in words, as reasons and short
    # names say them: {column: {value: <English> | {en, zh}}} (segml.tiering.value_words)
    value_words: dict[str, Any] = field(default_factory=dict)
    # the customer table as a history: `{valid_from: <column>}`, one row per customer and date
    customer_validity: dict[str, Any] = field(default_factory=dict)
    yes_words: list[str] = field(default_factory=lambda: ["是", "yes", "y", "true", "1"])
    no_words: list[str] = field(default_factory=lambda: ["否", "no", "n", "false", "0"])

    def required_names(self, customers: bool = False) -> tuple[str, ...]:
        """The user's names of the required columns: what `header_row: auto` looks for."""
        if customers:
            wanted = [self.customer_columns.get("customer_id")]
        else:
            wanted = [self.columns.get(c) for c in ("customer_id", "ts", "amount")]
        return tuple(str(name) for name in wanted if name is not None)

    def read_options(self, customers: bool = False) -> dict[str, Any]:
        """`raw.read_raw_table` settings for the transactions file or (`customers`) the customer
        file, with the config keys its messages should name."""
        if not customers:
            return {
                "fmt": self.format,
                "encoding": self.encoding,
                "delimiter": self.delimiter,
                "sheet": self.sheet,
                "header_row": self.header_row,
                "header_names": self.required_names(),
            }
        own_header = self.customers_header_row is not None
        return {
            "fmt": self.customers_format or self.format,
            "encoding": self.customers_encoding or self.encoding,
            "delimiter": self.delimiter,
            "sheet": self.customers_sheet,
            "header_row": self.customers_header_row if own_header else self.header_row,
            "header_names": self.required_names(customers=True),
            "encoding_key": "data.customers_encoding",
            "format_key": "data.customers_format",
            "sheet_key": "data.customers_sheet",
            "header_key": "data.customers_header_row" if own_header else "data.header_row",
        }


@dataclass
class LabelsConfig:
    horizon_days: int = 90
    # auto: the four keys below that are None come from the first schedule that fits the history
    # (segml.features.schedule.choose_schedule); fixed: None means today's monthly values
    schedule: str = "auto"
    n_training_cutoffs: int | None = None
    cutoff_spacing_days: int | None = None
    min_history_days: int | None = None
    backtest_folds: int = 3
    fold_spacing_days: int | None = None
    active_within_days: int | None = 365
    sufficiency: dict[str, Any] = field(default_factory=dict)


@dataclass
class FeaturesConfig:
    windows_days: list[int] = field(default_factory=lambda: [30, 90, 180, 365])
    top_categories: int = 8
    top_channels: int = 4
    use_attributes: bool = True
    use_bgnbd: bool = True
    subscriptions: dict[str, Any] = field(default_factory=dict)  # features.subscriptions.Settings


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
    subscriber_personas: dict[str, Any] = field(default_factory=dict)  # on subscribers' dimensions


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
    blend: str = "auto"  # auto: the blend of the model and the best baseline scores when it wins


@dataclass
class ChurnConfig(ModelConfig):
    calibration: str = "auto"


@dataclass
class UpsideConfig(ModelConfig):
    total_calibration: str = "auto"  # auto | on | off: scale the forecast so its totals add up
    interval: float | None = 0.8  # share of customers the predicted value range should hold


@dataclass
class ChurnBandsConfig:
    """Churn bands of the call list: from `medium` a customer's churn probability is medium, from
    `high` high, below `medium` low."""

    medium: float = 0.4
    high: float = 0.7


@dataclass
class TieringConfig:
    primary: str = "abc"
    value_window_days: int = 365
    abc: dict[str, Any] = field(default_factory=dict)
    pyramid: dict[str, Any] = field(default_factory=dict)
    value_potential: dict[str, Any] = field(default_factory=dict)
    lifecycle: dict[str, Any] = field(default_factory=dict)
    lifecycle_subscription: dict[str, Any] = field(default_factory=dict)  # rules, actions
    rfm: dict[str, Any] = field(default_factory=dict)
    coherence: dict[str, Any] = field(default_factory=dict)
    hysteresis: float = 0.0
    previous: str | None = "accepted"
    previous_ref: str | None = None
    teams: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, Any] = field(default_factory=dict)
    churn_bands: ChurnBandsConfig = field(default_factory=ChurnBandsConfig)
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
    call_list_customers: int | None = 5_000  # call-list rows (at-risk customers); None = all
    money_format: str = '"¥"#,##0'  # Excel number format of money cells in the workbook
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
        typed = merged(Config, raw)
    except Exception as exc:  # omegaconf raises several error types; all mean "fix the config"
        raise ConfigError(f"Invalid configuration: {_unknown_key(exc) or exc}") from exc
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
    for key, value, choices in (
        ("labels.schedule", typed.labels.schedule, SCHEDULES),
        ("churn.blend", typed.churn.blend, BLENDS),
        ("upside.blend", typed.upside.blend, BLENDS),
        ("upside.total_calibration", typed.upside.total_calibration, TOTAL_CALIBRATIONS),
    ):
        if value not in choices:
            raise ConfigError(f"{key}={value!r}: use one of {list(choices)}.")
    interval = typed.upside.interval
    if interval is not None and not 0 < interval < 1:
        raise ConfigError(
            f"upside.interval={interval!r}: use a share between 0 and 1 (0.8 = the range holds "
            "8 customers in 10), or null for no range."
        )
    if typed.engine not in ENGINES:
        raise ConfigError(
            f"engine={typed.engine!r}: use one of {list(ENGINES)} (dask runs prepare, features, "
            "tier and export's table per partition of customers; see conf/dask)."
        )
    if typed.engine not in KIND_ENGINES.get(typed.data.kind, ENGINES):
        raise ConfigError(
            f"data.kind={typed.data.kind!r} runs on the local engine only for now: set engine=local."
        )
    if typed.data.on_missing_column not in ON_MISSING_COLUMN:
        raise ConfigError(
            f"data.on_missing_column={typed.data.on_missing_column!r}: use one of "
            f"{list(ON_MISSING_COLUMN)} (what to do when a mapped optional column is not in the file)."
        )
    bands = typed.tiering.churn_bands
    if not 0 <= bands.medium <= bands.high <= 1:
        raise ConfigError(
            f"tiering.churn_bands: medium={bands.medium}, high={bands.high}: use probabilities "
            "with 0 <= medium <= high <= 1."
        )
    if typed.dask.partitions < 1:
        raise ConfigError(f"dask.partitions={typed.dask.partitions}: use 1 or more.")
    _check_data(typed.data)
    on_failure = typed.labels.sufficiency.get("on_failure", SUFFICIENCY[0])
    if on_failure not in SUFFICIENCY:
        raise ConfigError(
            f"labels.sufficiency.on_failure={on_failure!r}: use one of {list(SUFFICIENCY)} "
            "(untrained: grade by value and RFM with the models marked not trained; stop; warn: "
            "train anyway)."
        )
    primary = typed.tiering.primary
    if primary not in TIER_POLICIES:
        guess = _did_you_mean(primary, TIER_POLICIES)
        raise ConfigError(
            f"tiering.primary={primary!r} is not a tier policy.{guess}"
            f" Use one of {list(TIER_POLICIES)} (set in conf/tiering, or e.g. "
            "`segml run tiering.primary=pyramid`)."
        )


def _check_data(data: DataConfig) -> None:
    """The reading settings that name one of a few things name one that exists."""
    for key in ("header_row", "customers_header_row"):
        value = getattr(data, key)
        if value is None or value == "auto":
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(
                f"data.{key}={value!r}: use auto (the first row holding the mapped column names) "
                "or the header's 0-based row number (0 = the first line)."
            )
    unknown = [style for style in data.negatives if style not in NEGATIVE_STYLES]
    if unknown:
        raise ConfigError(
            f"data.negatives lists {unknown}: use any of {list(NEGATIVE_STYLES)} (a leading "
            "minus always counts)."
        )
    if data.kind not in KINDS:
        raise ConfigError(f"data.kind={data.kind!r}: use one of {list(KINDS)}.")
    for name, spec in data.customer_columns.items():  # typed ones: segml.data.attributes
        kind = spec.get("type", "category") if isinstance(spec, dict) else "category"
        keys = set(spec) if isinstance(spec, dict) else {"column"}
        if (
            kind not in ATTRIBUTE_TYPES
            or "column" not in keys
            or keys - {*"column type en zh".split()}
        ):
            guess = _did_you_mean(kind, ATTRIBUTE_TYPES)
            raise ConfigError(
                f"data.customer_columns.{name}={spec!r}: write a column name, or {{column, type, "
                f"en, zh}} with type one of {list(ATTRIBUTE_TYPES)}.{guess}"
            )
    if data.as_of_past_end not in PAST_END:
        raise ConfigError(
            f"data.as_of_past_end={data.as_of_past_end!r}: use one of {list(PAST_END)}."
        )


def _unknown_key(exc: Exception) -> str | None:
    """For a key the schema does not have (a typo in conf/, or `+key=value`): the closest setting
    there, in place of OmegaConf's message naming its internal types."""
    from omegaconf.errors import ConfigKeyError

    key = getattr(exc, "full_key", None)
    if not isinstance(exc, ConfigKeyError) or not key:
        return None
    parent, _, name = str(key).rpartition(".")
    group: Any = Config()
    for part in parent.split(".") if parent else ():
        group = getattr(group, part, None)
    if not is_dataclass(group):
        return None
    settings = tuple(f.name for f in fields(group))
    where = f"of {parent}" if parent else "at the top level"
    close = difflib.get_close_matches(name, settings, n=1, cutoff=0.6)
    meant = f" Did you mean `{parent + '.' if parent else ''}{close[0]}`?" if close else ""
    return f"`{key}` is not a setting {where}.{meant} Settings {where}: {', '.join(settings)}."


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
