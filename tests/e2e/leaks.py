"""Looking for what must not leave a pseudonymised run: clear customer ids and the salt, in the
files a run writes for others (exports, the MLflow store and every artifact) and in what it
prints. The end-to-end demo runs pseudonymised (tests/e2e/project.py), so every run made from it
can be scanned."""

from __future__ import annotations

import re
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd

# the salt the end-to-end runs pseudonymise with (only ever in their environment), and another
SALT, NEW_SALT = "pepper-Qx7-only-in-env", "paprika-Zk3-only-in-env"


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
# prospects "P" + digits; one token scan and a set lookup, because a regex of 1,500 alternatives
# took minutes over the MLflow store.
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


def known_ids(root: Path) -> list[str]:
    """Every customer a demo project knows, clear: the tier table's and the customer file's."""
    clear = pd.read_parquet(root / "data" / "tiers" / "tiers.parquet")["customer_id"]
    known = pd.read_csv(root / "data" / "raw" / "customers.csv", dtype=str, encoding="utf-8-sig")
    return pd.concat([clear, known["客户编号"]]).dropna().drop_duplicates().tolist()
