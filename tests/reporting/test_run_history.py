"""Reading earlier runs back: the previous period movement compares with (never an experiment,
never a rerun of this period), logged with pseudonyms and matched back to today's ids."""

from __future__ import annotations

from segml.config import ExportConfig, TrackingConfig
from segml.reporting import run_history, run_logger
from segml.reporting.mlflow_store import ACCEPTED, PERIOD
from segml.reporting.privacy import pseudonymize
from tests.reporting.conftest import FILES, tier_table


def test_movement_reads_a_pseudonymised_previous_run(tmp_path, monkeypatch):
    """Movement compares pseudonyms: today's ids are matched to last run's with the same salt."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tiers = tier_table(30)
    export_cfg = ExportConfig(pseudonymize_ids=True)
    tables = run_logger.run_tables(
        tiers.assign(customer_id=pseudonymize(tiers["customer_id"], "pepper")),
        tiers,
        export_cfg,
        TrackingConfig(),
        "pepper",
        FILES,
    )
    logged = run_logger.log_pipeline_run(
        uri,
        "moves",
        params={},
        metrics={},
        models={},
        artifacts={},
        tags={"segml.as_of": "2025-11-30", ACCEPTED: "true", PERIOD: "november"},
        register=False,
        auto_promote=False,
        files=FILES,
        tables=tables,
    )
    run_logger.log_pipeline_run(
        uri,
        "moves",
        params={},
        metrics={},
        models={},
        artifacts={},
        tables=tables,
        tags={"segml.as_of": "2025-12-31", ACCEPTED: "false"},  # an experiment
        register=False,
        auto_promote=False,
        files=FILES,
    )
    december = run_logger.log_pipeline_run(
        uri,
        "moves",
        params={},
        metrics={},
        models={},
        artifacts={},
        tables=tables,
        tags={"segml.as_of": "2025-12-31", ACCEPTED: "true", PERIOD: "december"},
        register=False,
        auto_promote=False,
        files=FILES,
    )
    # rerunning December compares with November: never with an experiment, nor with itself
    ref = run_history.previous_ref("accepted", uri, "moves", period="december")
    assert ref == f"run:{logged['run_id']}"
    assert (
        run_history.previous_ref("accepted", uri, "moves", period="january")
        == f"run:{december['run_id']}"
    )
    current = tiers["customer_id"].iloc[5:]  # five customers left, the rest are still here
    previous, period = run_history.previous_tiers("accepted", ref, uri, FILES, current, "pepper")
    assert period.startswith("2025-11-30")
    assert set(current) <= set(previous["customer_id"])
    assert previous.set_index("customer_id").loc["0000010", "tier_abc"] == tiers.loc[9, "tier_abc"]
    left = set(previous["customer_id"]) - set(current)
    assert len(left) == 5 and not left & set(tiers["customer_id"])  # those stay pseudonyms
    # under another salt (or none) no customer matches: no movement rather than everyone "new"
    assert run_history.previous_tiers("accepted", ref, uri, FILES, current, "paprika") == (
        None,
        None,
    )
    assert run_history.previous_tiers("accepted", ref, uri, FILES, current, None) == (None, None)
    assert run_history.previous_tiers("accepted", None, uri, FILES, current, "pepper") == (
        None,
        None,
    )  # not pinned
