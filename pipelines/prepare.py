"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, quality metrics."""

from segml.app.console import run_stage
from segml.config import load_config
from segml.data import io
from segml.data.catalog import Catalog
from segml.data.validate import prepare


def main() -> None:
    cfg = load_config()
    catalog, paths = Catalog.from_config(cfg.paths), cfg.paths
    transactions, customers = io.read_raw_inputs(
        paths.raw_transactions, paths.raw_customers, cfg.data
    )
    result = prepare(
        transactions, customers, cfg.data, cfg.as_of, paths.raw_transactions, paths.raw_customers
    )
    catalog.write("prepared_transactions", result.transactions)
    catalog.write("prepared_customers", result.customers)
    catalog.write("rejected", result.rejected)
    catalog.write("no_purchase_customers", result.no_purchase)
    catalog.write("data_quality", result.quality)


if __name__ == "__main__":
    run_stage("prepare", main)
