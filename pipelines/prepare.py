"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, quality metrics."""

from pathlib import Path

from segml.app.console import run_stage
from segml.config import load_config
from segml.data import io
from segml.data.catalog import Catalog
from segml.data.validate import prepare


def main() -> None:
    cfg = load_config()
    catalog, paths, data = Catalog.from_config(cfg.paths), cfg.paths, cfg.data
    transactions = io.read_raw_table(paths.raw_transactions, data.format, data.encoding, data.delimiter,
                                     "paths.raw_transactions")
    customers = None
    if Path(paths.raw_customers).exists() or not data.customers_optional:
        customers = io.read_raw_table(paths.raw_customers, data.format, data.encoding, data.delimiter,
                                      "paths.raw_customers")
    result = prepare(transactions, customers, data, cfg.as_of, paths.raw_transactions, paths.raw_customers)
    catalog.write("prepared_transactions", result.transactions)
    catalog.write("prepared_customers", result.customers)
    catalog.write("rejected", result.rejected)
    catalog.write("data_quality", result.quality)


if __name__ == "__main__":
    run_stage("prepare", main)
