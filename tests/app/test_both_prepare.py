"""`data.kind: both` through the prepare stage: `segml generate --shape both` writes both exports
and one customer table where conf/paths/both_demo expects them (no other demo's file touched);
the prepare stage reads both through the catalog. Composing checks both exports are mapped."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from segml.app import cli
from segml.app.demo_data import subscription_overrides
from segml.app.engine import LocalEngine
from segml.app.params import compose
from segml.config import to_typed
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.stages import prepare
from tests.conftest import ROOT


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_generate_both_then_prepare_through_the_catalog(project):
    result = CliRunner().invoke(
        cli.app, ["generate", "--shape", "both", "--customers", "600", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    cfg = to_typed(compose(subscription_overrides(None, "both"), conf_dir=project / "conf"))
    assert cfg.data.kind == "both"
    catalog = Catalog.from_config(cfg.paths, root=project)
    raw = ("raw_transactions", "raw_subscriptions", "raw_payments", "raw_usage", "raw_customers")
    assert {catalog.path(n).name for n in raw} == {
        f"both_{n}.csv" for n in ("transactions", "subscriptions", "payments", "usage", "customers")
    }
    assert sorted(p.name for p in (project / "data" / "raw").iterdir()) == sorted(
        [catalog.path(n).name for n in raw] + ["both_ground_truth.csv"]
    )
    prepare.run(cfg, catalog, LocalEngine())
    tx = catalog.read("prepared_transactions")
    spells = catalog.read("prepared_subscriptions")
    customers = catalog.read("prepared_customers")
    buyers, subscribers = set(tx[s.CUSTOMER_ID]), set(spells[s.CUSTOMER_ID])
    # some subscribers buy, other buyers only buy; one customer table covers them all (but the
    # two rows the messy export blanks the id of)
    assert 50 < len(buyers & subscribers) < len(buyers) and len(buyers - subscribers) > 50
    assert len((buyers | subscribers) - set(customers[s.CUSTOMER_ID])) <= 2
    listed = catalog.read("no_purchase_customers")
    assert not set(listed[s.CUSTOMER_ID]) & (buyers | subscribers)
    assert set(listed["status"]) <= {"never_bought", "all_rows_rejected"}
    quality = catalog.read("data_quality")
    assert quality["kind"] == "both"
    assert quality["transactions"]["rows_clean"] == len(tx)
    assert quality["subscriptions"]["subscriptions"]["rows_clean"] == len(spells)
    files = set(catalog.read("rejected")[s.SOURCE_FILE])
    assert {str(catalog.path("raw_transactions")), str(catalog.path("raw_usage"))} <= files


def test_compose_checks_both_exports_are_mapped_and_the_engine(project):
    both = ["compose", "data=both_demo", "paths=both_demo"]
    result = CliRunner().invoke(cli.app, [*both, "data.columns.ts=null"])
    assert result.exit_code != 0 and "data.columns.ts" in result.output
    result = CliRunner().invoke(cli.app, [*both, "engine=dask"])
    assert result.exit_code != 0 and "local engine only" in result.output
    result = CliRunner().invoke(cli.app, both)
    assert result.exit_code == 0, result.output


def test_the_churn_window_study_says_it_reads_purchases_only(project):
    assert (
        CliRunner().invoke(cli.app, ["compose", "data=both_demo", "paths=both_demo"]).exit_code == 0
    )
    result = CliRunner().invoke(cli.app, ["window"])
    assert result.exit_code != 0
    assert "data.kind is 'both'" in " ".join(result.output.split())
