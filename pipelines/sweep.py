"""Hydra multirun sweep: prepare, features, segment and train in memory per setting (what the
settings are compared by: data quality, segments and the backtests), each run recorded in MLflow.

    python pipelines/sweep.py -m segment.k=4,5,6,7
    python pipelines/sweep.py -m labels.horizon_days=60,90,120 churn.params.num_leaves=15,31

Sweeps never touch the DVC outputs or the model registry; compare the runs in the MLflow UI
(experiment `<tracking.experiment>-sweep`). Hydra's own run folders go under logs/.
"""

import hydra
from omegaconf import DictConfig, OmegaConf

from segml.app.console import console
from segml.app.pipeline import measure
from segml.config import to_typed
from segml.data.provenance import git_commit
from segml.data.raw import read_raw_inputs
from segml.reporting import run_logger as tracking


@hydra.main(config_path="../conf", config_name="config", version_base="1.3")
def main(hydra_cfg: DictConfig) -> None:
    raw = OmegaConf.to_container(hydra_cfg, resolve=True)
    cfg = to_typed(raw)
    paths, data = cfg.paths, cfg.data
    transactions, customers = read_raw_inputs(paths.raw_transactions, paths.raw_customers, data)
    metrics, schedule = measure(transactions, customers, cfg)
    overrides = list(hydra.core.hydra_config.HydraConfig.get().overrides.task)
    run = tracking.log_pipeline_run(
        cfg.tracking.uri,
        f"{cfg.tracking.experiment}-sweep",
        params=raw,
        metrics=metrics,
        tags={
            "segml.sweep_overrides": " ".join(overrides),
            "segml.as_of": schedule["as_of"],
            "segml.git_commit": git_commit(),
            "segml.data_source": paths.raw_transactions,
        },
        models={},
        artifacts={},
        files=paths.in_mlflow_run,
        register=False,
        auto_promote=False,
    )
    console.print(
        f"{overrides}: churn AUC {metrics['churn']['model']['roc_auc']:.3f}, value gini "
        f"{metrics['upside']['model']['normalized_gini']:.3f}, silhouette "
        f"{metrics['segment']['silhouette']:.3f} -> MLflow run {run['run_id']}"
    )


if __name__ == "__main__":
    main()
