"""The MLflow connection the tracking modules share: the client library, loaded quietly at first
use, and the names a run and the registry carry (registered models, the champion alias, run tags).

Only `run_logger` (writes) and `run_history` (reads) use it; no other module talks to MLflow.
`moved_from` and `relocate` repair a sqlite store whose project folder was moved (MLflow records
its files' absolute paths).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

CHAMPION = "champion"
ACCEPTED = "segml.accepted"  # a pipeline run movement may compare with (not an experiment or sweep)
PERIOD = "segml.period"  # what a run graded (`run_history.period_key`)
AS_OF = "segml.as_of"  # the date a run graded
AS_OF_FROM_DATA = "segml.as_of_from_data"  # "true": `as_of: null`, the date is the data's end
EXPORT = "segml.export"  # which export it graded, grown or not (`run_history.export_key`)
KIND = "segml.kind"  # "pipeline" (models trained and registered) or "score" (`segml score`)
REGISTERED = {"churn": "segml-churn", "upside": "segml-upside", "segmenter": "segml-segmenter"}
# `data.kind: both`: each part's set under its own names (segml-subscriptions-churn, ...)
REGISTERED |= {
    f"{part}_{name}": f"segml-{part}-{name}"
    for part in ("subscriptions", "transactions")
    for name in ("churn", "upside", "segmenter")
}


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


def _sqlite_file(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def moved_from(uri: str) -> str | None:
    """The folder a sqlite store's project was in when MLflow recorded where its files are, if
    the project has been moved or copied since (the recorded folder is another, and the files are
    in `mlruns/` beside the store; a copy's runs would otherwise write into the original's
    folder); else None."""
    db = _sqlite_file(uri)
    if db is None or not db.exists():
        return None
    with sqlite3.connect(db) as con:
        locations = [row[0] for row in con.execute("select artifact_location from experiments")]
    for location in locations:
        path = str(location).removeprefix("file://")
        if "/mlruns/" not in path:
            continue  # an artifact store of the user's choosing
        root = path[: path.rindex("/mlruns/")]
        here = db.parent.resolve()
        if Path(root).resolve() != here and (here / "mlruns" / Path(path).name).exists():
            return root
    return None


def relocate(uri: str, old_root: str) -> Path:
    """Every path under `old_root` the store records, under the store's own folder instead; the
    store as it was is kept beside it (returned), and the new one replaces it whole."""
    db = _sqlite_file(uri)
    new_root = str(db.parent.resolve())
    kept = db.with_name(f"{db.name}.before-relocate")
    shutil.copy2(db, kept)
    with tempfile.NamedTemporaryFile(dir=db.parent, suffix=".db", delete=False) as tmp:
        shutil.copy2(db, tmp.name)
    con = sqlite3.connect(tmp.name)
    try:
        with con:
            tables = [
                t for (t,) in con.execute("select name from sqlite_master where type='table'")
            ]
            for table in tables:
                for _, column, kind, *_ in con.execute(f"pragma table_info('{table}')"):
                    if any(text in str(kind).upper() for text in ("CHAR", "TEXT", "CLOB")):
                        con.execute(
                            f'update "{table}" set "{column}" = replace("{column}", ?, ?) '
                            f'where instr("{column}", ?) > 0',
                            (old_root, new_root, old_root),
                        )
    finally:
        con.close()
    os.replace(tmp.name, db)
    return kept
