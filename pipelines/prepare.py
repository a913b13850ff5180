"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, quality metrics."""

from segml.app.console import run_stage
from segml.app.engine import engine_for
from segml.app.params import load_config
from segml.data.catalog import Catalog
from segml.stages import prepare


def main() -> None:
    cfg = load_config()
    prepare.run(cfg, Catalog.from_config(cfg.paths), engine_for(cfg))


if __name__ == "__main__":
    run_stage("prepare", main)
