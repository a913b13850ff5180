"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, the
customers with no usable purchase, quality metrics."""

from pathlib import Path

from segml import io
from segml.config import load_config
from segml.console import run_stage
from segml.validate import prepare


def main() -> None:
    cfg = load_config()
    paths, data = cfg.paths, cfg.data
    transactions = io.read_raw_table(paths.raw_transactions, config_key="paths.raw_transactions",
                                     **data.read_options())
    customers = None
    if Path(paths.raw_customers).exists() or not data.customers_optional:
        customers = io.read_raw_table(paths.raw_customers, config_key="paths.raw_customers",
                                      **data.read_options(customers=True))
    result = prepare(transactions, customers, data, cfg.as_of, paths.raw_transactions, paths.raw_customers)
    out = Path(paths.prepared_dir)
    io.write_parquet(result.transactions, out / "transactions.parquet")
    io.write_parquet(result.customers, out / "customers.parquet")
    io.write_parquet(result.rejected, out / "rejected.parquet")
    io.write_parquet(result.no_purchase, paths.no_purchase_customers)
    io.write_json(result.quality, Path(paths.metrics_dir) / "data_quality.json")


if __name__ == "__main__":
    run_stage("prepare", main)
