"""DVC stage `prepare`: raw export -> clean transactions and customers, rejected rows, quality metrics."""

from segml.app.console import report_notes, run_stage


def main() -> None:
    # imported when the stage runs, not above: Dask's workers (engine: dask) import this script
    # again and need only what their tasks use
    from segml.app.engine import engine_for
    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.data.files import untracked_notes
    from segml.stages import prepare

    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    prepare.run(cfg, catalog, engine_for(cfg))
    report_notes([*catalog.read("data_quality")["notes"], *untracked_notes(cfg.paths)])


if __name__ == "__main__":
    run_stage("prepare", main)
