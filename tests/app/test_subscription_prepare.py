"""`data.kind: subscriptions` end to end through the prepare stage: `segml generate --shape
subscription` writes the export where conf/paths expects it, under conf/data/subscription_demo's
headers; the prepare stage reads it through the catalog and writes every prepared table, the
rejected rows, the customers without a subscription and the data-quality figures."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from segml.app import cli
from segml.app.demo_data import subscription_overrides
from segml.app.engine import LocalEngine
from segml.app.params import compose
from segml.config import to_typed
from segml.data import contracts
from segml.data import schema as s
from segml.data.catalog import Catalog
from segml.errors import ConfigError
from segml.stages import prepare
from tests.conftest import ROOT

SUBSCRIPTION_DATA = "data=subscription_demo"


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_generate_then_prepare_through_the_catalog(project):
    result = CliRunner().invoke(
        cli.app, ["generate", "--shape", "subscription", "--customers", "300", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    cfg = to_typed(compose(subscription_overrides(None), conf_dir=project / "conf"))
    catalog = Catalog.from_config(cfg.paths, root=project)
    for name in ("raw_subscriptions", "raw_payments", "raw_usage", "raw_customers", "ground_truth"):
        assert catalog.path(name).exists(), name
    # the transaction demo's files are not touched: the customer table has a name of its own
    assert catalog.path("raw_customers").name == "subscription_customers.csv"
    assert not (project / "data" / "raw" / "customers.csv").exists()
    assert not catalog.path("raw_transactions").exists()
    prepare.run(cfg, catalog, LocalEngine())
    tables = {
        "prepared_subscriptions": contracts.CLEAN_SUBSCRIPTIONS,
        "prepared_payments": contracts.CLEAN_PAYMENTS,
        "prepared_usage": contracts.CLEAN_USAGE,
    }
    for name, contract in tables.items():
        table = catalog.read(name)
        contract.validate(table)
        assert len(table) > 300, name
    customers = catalog.read("prepared_customers")
    # typed attributes with their validity dates: one row per customer and date
    assert not customers.duplicated([s.CUSTOMER_ID, s.VALID_FROM]).any()
    assert customers[s.CUSTOMER_ID].nunique() > 290
    assert customers["company_size"].dtype == float and customers["is_business"].isin([0, 1]).any()
    quality = catalog.read("data_quality")
    assert quality["kind"] == "subscriptions" and quality["export_end"].startswith("2025-12")
    assert quality["rows_rejected"] == len(catalog.read("rejected"))
    no_subscription = catalog.read("no_purchase_customers")
    assert (no_subscription["status"] == "never_subscribed").sum() == 6  # 2 % of 300
    headline = io_json(catalog.path("data_quality"))
    assert headline == {
        "quality": {
            "rows_clean": quality["rows_clean"],
            "rejected_share": quality["rejected_share"],
        }
    }


def io_json(path):
    from segml.data import io

    return io.read_json(path)


def test_the_transaction_step_is_the_one_it_was():
    assert prepare.STEPS["transactions"] is prepare.STEP
    assert (
        prepare.STEP.whole is prepare.whole and prepare.STEP.per_partition is prepare.per_partition
    )


def test_the_demo_shape_picks_its_groups_unless_told_otherwise():
    assert subscription_overrides(None) == ["data=subscription_demo", "paths=subscription_demo"]
    assert subscription_overrides(["data=mycrm", "as_of=2025-06-30"]) == [
        "paths=subscription_demo",
        "data=mycrm",
        "as_of=2025-06-30",
    ]


def test_subscriptions_on_dask_stop_at_start_up():
    with pytest.raises(ConfigError, match="local engine only"):
        to_typed(compose([SUBSCRIPTION_DATA, "engine=dask"], conf_dir=ROOT / "conf"))
    to_typed(compose(["engine=dask"], conf_dir=ROOT / "conf"))  # transactions: both engines
