"""DVC stage `export`: tables, workbook and report for business users; the run recorded in MLflow."""

from segml.app.console import report_promotion, run_stage


def main() -> None:
    # imported when the stage runs, not above: Dask's workers (engine: dask) import this script
    # again and need only what their tasks use
    from segml.app.engine import engine_for
    from segml.app.params import load_config
    from segml.data.catalog import Catalog
    from segml.stages import export, record

    cfg = load_config()
    catalog, engine = Catalog.from_config(cfg.paths), engine_for(cfg)
    export.run(cfg, catalog, engine)
    record.run(cfg, catalog, engine)
    report_promotion(catalog.read("mlflow_run"))


if __name__ == "__main__":
    run_stage("export", main)
