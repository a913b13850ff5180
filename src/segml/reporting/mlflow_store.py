"""The MLflow connection the tracking modules share: the client library, loaded quietly at first
use, and the names a run and the registry carry (registered models, the champion alias, run tags).

Only `run_logger` (writes) and `run_history` (reads) use it; no other module talks to MLflow.
"""

from __future__ import annotations

import os

CHAMPION = "champion"
ACCEPTED = "segml.accepted"  # a pipeline run movement may compare with (not an experiment or sweep)
PERIOD = "segml.period"  # what a run graded (`run_history.period_key`)
AS_OF = "segml.as_of"  # the date a run graded
EXPORT = "segml.export"  # which export it graded, grown or not (`run_history.export_key`)
KIND = "segml.kind"  # "pipeline" (models trained and registered) or "score" (`segml score`)
REGISTERED = {"churn": "segml-churn", "upside": "segml-upside", "segmenter": "segml-segmenter"}


def load_mlflow():
    """The mlflow module, imported at first use (importing it is slow and has side effects)."""
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)  # keep the console readable
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return mlflow


# MLflow 3's UI opens an experiment on its GenAI "Traces" page unless the experiment says it holds
# model training runs (this tag); the UI's workflow switch (`?workflowType=machine_learning`, what
# `segml ui` links to) does the same in versions where that switch decides
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def connect(uri: str, experiment: str):
    """mlflow, pointed at the tracking store `uri` and the experiment runs are logged to (created
    as a model-training experiment, so the UI opens it on its runs)."""
    mlflow = load_mlflow()
    mlflow.set_tracking_uri(uri)
    found = mlflow.set_experiment(experiment)
    key, kind = EXPERIMENT_KIND
    if found.tags.get(key) != kind:
        mlflow.MlflowClient().set_experiment_tag(found.experiment_id, key, kind)
    return mlflow


def model_version(client, name: str, which: str):
    """A registered version of one model of the set ("churn", ...), by alias or version number."""
    registered = REGISTERED[name]
    if str(which).isdigit():
        return client.get_model_version(registered, str(which))
    return client.get_model_version_by_alias(registered, which)
