"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, quality metrics."""

from segml.app.console import run_stage
from segml.app.engine import dask_engine
from segml.app.params import load_config
from segml.config import Config
from segml.data.catalog import Catalog
from segml.data.partitions import prepare_partitioned
from segml.data.raw import read_raw_inputs
from segml.data.validate import prepare


def prepare_in_memory(cfg: Config, catalog: Catalog):
    paths = cfg.paths
    transactions, customers = read_raw_inputs(paths.raw_transactions, paths.raw_customers, cfg.data)
    result = prepare(
        transactions, customers, cfg.data, cfg.as_of, paths.raw_transactions, paths.raw_customers
    )
    catalog.write("prepared_transactions", result.transactions)
    catalog.write("prepared_customers", result.customers)
    return result


def prepare_on_dask(cfg: Config, catalog: Catalog):
    """The clean tables become folders of customer partitions (the features stage reads them so)."""
    with dask_engine(cfg.dask) as engine:
        return prepare_partitioned(
            cfg,
            engine,
            catalog.path("prepared_transactions"),
            catalog.path("prepared_customers"),
        )


def main() -> None:
    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    result = (prepare_on_dask if cfg.engine == "dask" else prepare_in_memory)(cfg, catalog)
    catalog.write("rejected", result.rejected)
    catalog.write("no_purchase_customers", result.no_purchase)
    catalog.write("data_quality", result.quality)


if __name__ == "__main__":
    run_stage("prepare", main)
