"""DVC stage `segment`: KMeans segments with persona names, profile table, quality metrics."""

from segml.app.console import run_stage


def main() -> None:
    # imported when the stage runs, not above: Dask's workers (engine: dask) import this script
    # again and need only what their tasks use
    from segml.app.engine import engine_for
    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.stages import segment

    cfg = load_config()
    segment.run(cfg, Catalog.from_config(cfg.paths), engine_for(cfg))


if __name__ == "__main__":
    run_stage("segment", main)
