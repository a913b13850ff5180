"""DVC stage `train`: walk-forward backtest of the churn and value models beside their baselines,
then the production scorers refit on every labelled cutoff (or the best baseline, when the model loses)."""

from segml.app.console import report_grades, run_stage


def main() -> None:
    # imported when the stage runs, not above: Dask's workers (engine: dask) import this script
    # again and need only what their tasks use
    from segml.app.engine import engine_for
    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.stages import train

    cfg = load_config()
    catalog = Catalog.from_config(cfg.paths)
    train.run(cfg, catalog, engine_for(cfg))
    report_grades({t: catalog.read(f"{t}_metrics") for t in ("churn", "upside")})


if __name__ == "__main__":
    run_stage("train", main)
