"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, quality metrics."""

from pathlib import Path

from segml.data import io
from segml.config import load_config
from segml.app.console import run_stage
from segml.data.validate import prepare


def main() -> None:
    cfg = load_config()
    paths, data = cfg.paths, cfg.data
    transactions = io.read_raw_table(paths.raw_transactions, data.format, data.encoding, data.delimiter,
                                     "paths.raw_transactions")
    customers = None
    if Path(paths.raw_customers).exists() or not data.customers_optional:
        customers = io.read_raw_table(paths.raw_customers, data.format, data.encoding, data.delimiter,
                                      "paths.raw_customers")
    result = prepare(transactions, customers, data, cfg.as_of, paths.raw_transactions, paths.raw_customers)
    out = Path(paths.prepared_dir)
    io.write_parquet(result.transactions, out / "transactions.parquet")
    io.write_parquet(result.customers, out / "customers.parquet")
    io.write_parquet(result.rejected, out / "rejected.parquet")
    io.write_json(result.quality, Path(paths.metrics_dir) / "data_quality.json")


if __name__ == "__main__":
    run_stage("prepare", main)
