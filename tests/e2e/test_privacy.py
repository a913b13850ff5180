"""End to end, pseudonymisation on: no clear customer id and never the salt in anything the
pipeline or `segml score` writes for others (exports, the MLflow store and every artifact);
movement and the audit of an earlier period still match its customers (same salt); a new salt
re-runs export; no salt, no run."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from segml.config import salt_fingerprint
from segml.reporting.privacy import pseudonymize
from tests.e2e.project import ENV, SEGML, new_project, sh

pytestmark = pytest.mark.slow
SALT, NEW_SALT = "pepper-Qx7-only-in-env", "paprika-Zk3-only-in-env"
PSEUDONYMIZE = "export.pseudonymize_ids=true"


def run(root: Path, salt: str | None, *overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in ENV.items() if k != "SEGML_ID_SALT"}
    if salt:
        env["SEGML_ID_SALT"] = salt
    return subprocess.run(
        [*SEGML, "run", PSEUDONYMIZE, *overrides], cwd=root, capture_output=True, text=True, env=env
    )


def decoded(path: Path) -> str:
    """A file's text as a person or a program would read it (tables, workbooks, and raw bytes)."""
    raw = path.read_bytes()
    parts = [raw.decode("utf-8", errors="ignore"), raw.decode("latin-1")]
    if path.suffix == ".parquet":
        parts.append(pd.read_parquet(path).to_csv(index=False))
    elif path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            parts += [book.read(name).decode("utf-8", errors="ignore") for name in book.namelist()]
    return "\n".join(parts)


def sqlite_text(path: Path) -> str:
    """Every value of every table of the MLflow store, blobs decoded."""
    parts = []
    with sqlite3.connect(path) as db:
        tables = [t for (t,) in db.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for row in db.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        parts += [value.decode("utf-8", errors="ignore"), value.decode("latin-1")]
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


# A clear id as it would appear in text: not inside a longer number. The demo's ids are digits,
# prospects "P" + digits (asserted below); one token scan and a set lookup, because a regex of
# 1,500 alternatives took minutes over the MLflow store.
ID_TOKEN = re.compile(r"(?<![0-9.])P?[0-9]+(?![0-9])")


def id_hits(text: str, ids: set[str]) -> set[str]:
    found = set()
    for token in ID_TOKEN.findall(text):
        found |= {token, token.removeprefix("P")} & ids  # "P0001234" also holds "0001234"
    return found


def leaks(
    root: Path,
    clear_ids: list[str],
    secrets: list[str],
    folders: tuple[str, ...] = ("exports", "mlruns"),
) -> dict[str, list[str]]:
    """file -> the clear ids or secrets found in it (the MLflow store and every file of `folders`)."""
    ids = set(clear_ids)
    texts = {"mlflow.db": sqlite_text(root / "mlflow.db")}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                texts[str(path.relative_to(root))] = decoded(path)
    found = {}
    for name, text in texts.items():
        hits = sorted(id_hits(text, ids)) + [f"salt {s[:6]}..." for s in secrets if s in text]
        if hits:
            found[name] = hits[:5]
    return found


def test_pseudonymised_run_leaks_no_id_and_no_salt(tmp_path):
    root = new_project(tmp_path / "project")
    sh([*SEGML, "generate", "--customers", "1500", "--seed", "11"], root)

    refused = run(root, None)
    assert refused.returncode == 2
    assert "SEGML_ID_SALT" in " ".join((refused.stdout + refused.stderr).split())
    assert not (root / "params.yaml").exists() and not (root / "data" / "prepared").exists()
    assert not (root / "mlflow.db").exists()

    # the full table too: more to scan
    first = run(root, SALT, "as_of=2025-11-30", "tracking.log_full_table=true")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    assert params["export"]["salt_fingerprint"] == salt_fingerprint(SALT)
    clear = pd.read_parquet(root / "data" / "tiers" / "tiers.parquet")["customer_id"]
    assert clear.str.fullmatch(
        r"P?\d{6,7}"
    ).all()  # clear ids (P: prospects, listed without a tier)
    exported = pd.read_parquet(root / "exports" / "tiers.parquet")
    assert exported["customer_id"].tolist() == pseudonymize(clear, SALT).tolist()

    # the next period (the export's end) scored with the champion and a stricter A cut: movement
    # and the audit match the pseudonyms MLflow holds of the first period to today's customers
    # (same salt), and the scored run logs pseudonyms too
    env = {**ENV, "SEGML_ID_SALT": SALT}
    scored = root / "scored"
    second = subprocess.run(
        [*SEGML, "score", "--input", "data/raw/transactions.csv", "--out", str(scored)]
        + [PSEUDONYMIZE, "tiering.abc.cumulative_shares=[0.6,0.9]"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    printed = " ".join((second.stdout + second.stderr).split())  # segml prints to stderr
    assert "movement since 2025-11-30" in printed, printed[-3000:]
    tiers = pd.read_parquet(scored / "tiers.parquet")
    moved = tiers["tier_change"].dropna()  # customers without a usable purchase have no tier
    assert (moved == "down").any() and (moved == "new").mean() < 0.2  # pseudonyms matched to ids
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    (scored_run,) = client.search_runs(
        [client.get_experiment_by_name("segml").experiment_id],
        filter_string="tags.`segml.kind` = 'score'",
    )
    logged = scored_run.data.metrics
    assert logged["audit.2025-11-30.matched_share"] == 1.0
    assert (
        logged["audit.2025-11-30.repurchase_rate.A"] > logged["audit.2025-11-30.repurchase_rate.C"]
    )
    # every customer the export knows, clear: the scan looks for each of them
    known = pd.read_csv(root / "data" / "raw" / "customers.csv", dtype=str, encoding="utf-8-sig")
    clear = pd.concat([clear, known["客户编号"]]).dropna().drop_duplicates()

    # a new salt makes export (and only export) out of date: its fingerprint is a stage parameter
    env = {**ENV, "SEGML_ID_SALT": NEW_SALT}
    subprocess.run(
        [*SEGML, "compose", PSEUDONYMIZE, "as_of=2025-11-30", "tracking.log_full_table=true"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    status = subprocess.run(
        [sys.executable, "-m", "dvc", "status", "--json"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert set(json.loads(status)) == {"export"}
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    assert params["export"]["salt_fingerprint"] == salt_fingerprint(NEW_SALT)

    for example in (root / "mlruns").rglob("input_example.json"):
        frame = json.loads(example.read_text(encoding="utf-8"))
        columns = frame["columns"]
        for j, column in enumerate(columns):
            assert column != "customer_id"
            if column.startswith("attr_"):
                assert {row[j] for row in frame["data"]} <= {"", None}, (example, column)

    # rejected rows keep their original text (ids included) so the source can be fixed: inside
    # the project, as data/prepared is for the pipeline, never beside pseudonymised exports
    assert not (scored / "rejected.parquet").exists()
    assert (root / "data" / "scored" / "rejected.parquet").exists()
    found = leaks(root, clear.tolist(), [SALT, NEW_SALT], ("exports", "mlruns", "scored"))
    assert not found, f"clear ids or the salt found in: {found}"
    control = leaks(
        root, clear.tolist(), [], folders=("data/tiers",)
    )  # internal files keep clear ids:
    assert any(name.startswith("data/tiers/") for name in control)  # the scan does find them
