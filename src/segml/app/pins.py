"""The earlier periods a run compares with and audits, pinned when the config is composed: DVC
parameters of the tier and audit stages (`tiering.previous_ref`, `audit.periods_ref`), so a new
earlier period reruns them and a restored stage never brings back stale movement."""

from __future__ import annotations

from pathlib import Path

from segml.config import Config
from segml.data.files import input_exists
from segml.data.provenance import file_digest
from segml.errors import ConfigError
from segml.reporting import run_history
from segml.reporting.mlflow_store import moved_from
from segml.reporting.run_history import export_files
from segml.tiering.periods import audited_periods, periods_pin, previous_period


def run_pins(cfg: Config, overrides: list[str]) -> dict[str, str]:
    """`tiering.previous_ref` (the accepted period just before this `as_of`) and `audit.periods_ref`
    unless given: DVC parameters of tier and audit, so a new earlier period reruns them."""
    given = {o.split("=")[0].lstrip("+~") for o in overrides}
    if {"tiering.previous_ref", "audit.periods_ref"} <= given:
        return {}
    files = export_files(cfg)  # the kind's export: transactions, or subscribers' spells and more
    if not Path(cfg.tracking.uri.removeprefix("sqlite:///")).exists() or not input_exists(files[0]):
        return {}
    pins = period_pins(cfg, file_digest_of(*files, cfg.paths.raw_customers))
    return {key: value for key, value in pins.items() if key not in given}


def file_digest_of(*paths) -> str:
    return file_digest(*[p for p in paths if p])


def period_pins(cfg: Config, data_digest: str) -> dict[str, str]:
    """The pins of `run_pins` for `cfg` (its export and `as_of`). With `as_of: null` the date is
    the data's end: known when a run has graded this very data before, else taken as later than
    every earlier period (the stages check the pin against the date they find)."""
    moved = moved_from(cfg.tracking.uri)
    if moved:  # every read of an earlier period's files would fail deep inside MLflow
        raise ConfigError(
            f"The MLflow store ({cfg.tracking.uri}) records its files under {moved}, where this "
            "project was: it has been moved or copied since. Run `segml relocate-store` (it points "
            "the store at this folder and keeps the old one as mlflow.db.before-relocate), then "
            "run again."
        )
    history = run_history.period_history(
        cfg.tracking.uri, cfg.tracking.experiment, run_history.export_of(cfg)
    )
    as_of = cfg.as_of or history.as_of_of_data.get(data_digest)
    pins = {}
    previous = previous_period(history.periods, as_of)
    if cfg.tiering.previous == "accepted" and previous:
        pins["tiering.previous_ref"] = f"run:{previous.run_id}"
    elif cfg.tiering.previous and cfg.tiering.previous != "accepted":
        ref = run_history.previous_ref(
            cfg.tiering.previous, cfg.tracking.uri, cfg.tracking.experiment, "", as_of
        )
        if ref:
            pins["tiering.previous_ref"] = ref
    audit = cfg.audit
    audited = audited_periods(history.periods, as_of, audit.min_elapsed_days, audit.max_periods)
    pin = periods_pin(sorted({*audited, *([previous] if previous else [])}, key=lambda p: p.as_of))
    if pin:
        pins["audit.periods_ref"] = pin
    return pins
