"""DVC stage `features`: point-in-time features for every labelled cutoff (with labels) and the snapshot."""

from segml.app.console import report_schedule, run_stage


def main() -> None:
    # imported when the stage runs, not above: Dask's workers (engine: dask) import this script
    # again and need only what their tasks use
    from segml.app.engine import engine_for
    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.stages import features

    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    features.run(cfg, catalog, engine_for(cfg))
    report_schedule(catalog.read("schedule"))


if __name__ == "__main__":
    run_stage("features", main)
