"""Reading earlier runs back: the period just before this one of the same export (never an
experiment, never this period or a later one, whatever order runs were made in), logged with
pseudonyms and matched back to today's ids."""

from __future__ import annotations

from segml.config import ExportConfig, TrackingConfig
from segml.reporting import run_history, run_logger
from segml.reporting.mlflow_store import ACCEPTED, AS_OF, EXPORT
from segml.reporting.privacy import pseudonymize
from tests.reporting.conftest import FILES, tier_table


def test_export_key_is_the_source_and_its_mapping_not_its_content(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    columns = {"customer_id": "会员编号", "ts": "下单时间"}
    key = run_history.export_key("data/raw/transactions.csv", columns)
    assert key == run_history.export_key(tmp_path / "data/raw/transactions.csv", dict(columns))
    assert key != run_history.export_key("data/raw/other.csv", columns)
    assert key != run_history.export_key("data/raw/transactions.csv", {**columns, "ts": "时间"})


def test_movement_compares_with_the_period_just_before_of_the_same_export(tmp_path, monkeypatch):
    """Runs made December first, then November: December compares with November, a later
    January with December; an experiment and another export never count. The previous run's
    pseudonyms are matched to today's ids with the same salt."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tiers = tier_table(30)
    tables = run_logger.run_tables(
        tiers.assign(customer_id=pseudonymize(tiers["customer_id"], "pepper")),
        tiers,
        ExportConfig(pseudonymize_ids=True),
        TrackingConfig(),
        "pepper",
        FILES,
    )

    def log(as_of: str, accepted: str = "true", export: str = "shop", params=None) -> str:
        return run_logger.log_pipeline_run(
            uri,
            "moves",
            params={"labels": {"horizon_days": 90}, "as_of": as_of, **(params or {})},
            metrics={},
            models={},
            artifacts={},
            tags={AS_OF: as_of, ACCEPTED: accepted, EXPORT: export, "segml.data_sha256": as_of},
            register=False,
            auto_promote=False,
            files=FILES,
            tables=tables,
        )["run_id"]

    december = log("2025-12-31")
    log("2025-12-15", accepted="false")  # an experiment
    log("2025-12-20", export="another shop")
    november = log("2025-11-30", params={"as_of": None})  # graded as of the data's end
    history = run_history.period_history(uri, "moves", "shop")
    periods = history.periods
    # a later run of the same data with `as_of: null` knows its date (and so its previous period)
    assert history.as_of_of_data == {"2025-11-30": "2025-11-30"}
    assert [p.as_of for p in periods] == ["2025-12-31", "2025-11-30"]
    assert periods[0].horizon_days == 90
    ref = run_history.previous_ref("accepted", uri, "moves", "shop", "2025-12-31")
    assert ref == f"run:{november}"
    assert run_history.previous_ref("accepted", uri, "moves", "shop", "2026-01-31") == (
        f"run:{december}"
    )
    assert run_history.previous_ref("accepted", uri, "moves", "shop", "2025-11-30") is None

    current = tiers["customer_id"].iloc[5:]  # five customers left, the rest are still here
    args = (uri, "moves", "shop", FILES, "2025-12-31", current)
    previous, period = run_history.previous_tiers("accepted", ref, *args, "pepper")
    assert period.as_of == "2025-11-30" and period.run_id == november
    assert set(current) <= set(previous["customer_id"])
    assert previous.set_index("customer_id").loc["0000010", "tier_abc"] == tiers.loc[9, "tier_abc"]
    left = set(previous["customer_id"]) - set(current)
    assert len(left) == 5 and not left & set(tiers["customer_id"])  # those stay pseudonyms
    # a pin made before the date was known may name a later period: the one just before instead
    assert run_history.previous_tiers("accepted", f"run:{december}", *args, "pepper")[1] == period
    # under another salt (or none) no customer matches: no movement rather than everyone "new"
    assert run_history.previous_tiers("accepted", ref, *args, "paprika") == (None, None)
    assert run_history.previous_tiers("accepted", ref, *args, None) == (None, None)
    assert run_history.previous_tiers("accepted", None, *args, "pepper") == (None, None)
