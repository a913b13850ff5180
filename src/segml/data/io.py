"""The only module that touches disk. Every write is atomic: a temp file, then a rename.

A crash therefore never leaves a half-written table under the final name.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd


class InputError(ValueError):
    """An input file is missing or unreadable; the message names the file and the config key."""


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path next to `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same folder: the rename is atomic
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _write(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    # dictionary encoding pays for text and dates; for numbers it costs more write time than it saves
    repeating = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    return _write(path, lambda p: df.to_parquet(p, index=False, use_dictionary=repeating))


def write_csv(df: pd.DataFrame, path: str | Path, encoding: str = "utf-8-sig") -> Path:
    """CSV for Excel users: UTF-8 with BOM so Chinese text shows correctly; LF line ends."""
    return _write(path, lambda p: df.to_csv(p, index=False, encoding=encoding, lineterminator="\n"))


def write_json(obj: Any, path: str | Path) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=float)
    return _write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_text(text: str, path: str | Path) -> Path:
    return _write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: str | Path) -> Path:
    return _write(path, lambda p: p.write_bytes(data))


def save_pickle(obj: Any, path: str | Path) -> Path:
    return _write(path, lambda p: p.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)))


def load_pickle(path: str | Path) -> Any:
    return pickle.loads(Path(path).read_bytes())


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_parquet(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} not found: run the earlier pipeline stages first (`segml run`).")
    return pd.read_parquet(path)


def release_arrow_memory() -> None:
    """Hand memory of freed Arrow-backed tables back to the system: Arrow's allocator keeps it for
    reuse otherwise, and numpy can never reuse it."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def read_raw_table(path: str | Path, fmt: str, encoding: str, delimiter: str, config_key: str) -> pd.DataFrame:
    """Read a user's export with every column as text, so nothing is lost or reinterpreted.

    Ids keep their leading zeros and unparseable values survive to be rejected with a reason.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"Input file {path} not found. Set `{config_key}` in conf/paths (or override it, e.g. "
            f"`segml run {config_key}=/path/to/file.csv`)."
        )
    try:
        if fmt == "parquet":
            return pd.read_parquet(path).astype("string").astype(object).where(lambda d: d.notna(), None)
        if fmt == "csv":
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding, sep=delimiter,
                skipinitialspace=True,
            )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Cannot decode {path} as {encoding}: {exc.reason} at byte {exc.start}. "
            "Set `data.encoding` (Excel exports are often gbk, gb18030 or utf-8-sig)."
        ) from exc
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise InputError(f"Cannot read {path} as {fmt}: {exc}. Check `data.format` and `data.delimiter`.") from exc
    raise InputError(f"Unknown data.format {fmt!r} for {path}: use csv or parquet.")


def file_digest(*paths: str | Path) -> str:
    """SHA-256 over the bytes of existing files (streamed), to tag runs with their input data."""
    import hashlib

    digest = hashlib.sha256()
    for path in paths:
        path = Path(path)
        if path.exists():
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def git_commit() -> str:
    """The checked-out commit (with '-dirty' when files differ), or 'unknown' outside git."""
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, check=True).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def read_yaml(path: str | Path) -> Any:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
