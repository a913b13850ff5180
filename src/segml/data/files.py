"""Which files an input names (a file, a folder or a glob), and which file each row came from."""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from segml.errors import InputError

# --- which files -------------------------------------------------------------------------------

# in a folder or a glob, a file's format is its suffix (a compressed CSV: .csv.gz, .csv.bz2, ...)
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xls",
}
COMPRESSED = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
# what operating systems and office programs leave in a folder beside the exports
_SYSTEM_FILES = {"desktop.ini", "thumbs.db", ".ds_store"}


@dataclass(frozen=True)
class InputFiles:
    """The files an input names, each with its format, and those left out with why."""

    files: tuple[tuple[Path, str], ...]
    ignored: tuple[tuple[str, str], ...] = ()


def is_pattern(path: str | Path) -> bool:
    return any(ch in str(path) for ch in "*?[")


def one_file(path: str | Path) -> bool:
    """Whether the input is a single file, named in messages and rejected rows as given."""
    return not is_pattern(path) and not Path(path).is_dir()


def input_exists(path: str | Path) -> bool:
    """Whether the input is there: a file, a folder, or a glob that matches something."""
    return bool(glob.glob(str(path))) if is_pattern(path) else Path(path).exists()


def suffix_format(path: Path) -> str | None:
    """csv, parquet, xlsx or xls from the file's name (compressed CSV included), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSED:
        return "csv" if suffixes[-2:-1] == [".csv"] else None
    return SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None


def _why_ignored(path: Path) -> str | None:
    """Why a file in a folder (or matched by a glob) is not an export to read, or None."""
    name = path.name.lower()
    if name.startswith("~$"):
        return "an Office lock file (the workbook is open in Excel)"
    if name in _SYSTEM_FILES:
        return "a system file"
    if name.startswith("."):
        return "a hidden file"
    if name.startswith("~") or name.endswith((".tmp", ".part", ".crdownload")):
        return "a temporary file"
    if suffix_format(path) is None:
        return "not a data file (csv, csv.gz, parquet, xlsx, xls)"
    return None


def input_files(path: str | Path, fmt: str, key: str = "paths.raw_transactions") -> InputFiles:
    """The files `path` names: itself (read as `fmt`), every export in a folder, or the files a
    glob matches, in name order; in a folder or glob each file's format is its suffix, and
    stray files (lock files, system files, other documents) are left out and listed. `key`
    names the setting (or option) that gives `path`, for messages."""
    if not is_pattern(path) and not Path(path).is_dir():
        return InputFiles(((Path(path), fmt),))
    if is_pattern(path):
        found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise InputError(
                f"No file matches {path}. Set `{key}` to a file, a folder or a pattern such "
                f"as data/raw/orders_*.csv (or override it, e.g. `segml run {key}=...`)."
            )
    else:
        found = sorted(p for p in Path(path).iterdir() if p.is_file())
    files, ignored = [], []
    for file in found:
        why = _why_ignored(file)
        if why:
            ignored.append((file.name, why))
        else:
            files.append((file, suffix_format(file)))
    if not files:
        left = "; ".join(f"{name}: {why}" for name, why in ignored) or "it is empty"
        raise InputError(
            f"No data file in {path} ({left}). A folder or pattern is read for its .csv, .csv.gz, "
            f".parquet, .xlsx and .xls files: put the exports there, or set `{key}` to them."
        )
    return InputFiles(tuple(files), tuple(ignored))


def untracked_notes(paths) -> list[str]:
    """A note per input (`paths`: PathsConfig) that lies outside `paths.raw_dir`, the folder DVC
    watches: a new or changed file there would not rerun prepare."""
    notes = []
    for key in ("raw_transactions", "raw_customers"):
        path = getattr(paths, key)
        if not path or not input_exists(path):
            continue
        fixed = Path(str(path).split("*")[0].split("?")[0].split("[")[0])
        if not fixed.resolve().is_relative_to(Path(paths.raw_dir).resolve()):
            notes.append(
                f"{path} is outside paths.raw_dir ({paths.raw_dir}), the folder DVC watches: a "
                f"new or changed file there does not rerun prepare. Move it under "
                f"{paths.raw_dir} (and set `paths.{key}`), or set paths.raw_dir to its folder."
            )
    return notes


# --- what was read from where --------------------------------------------------------------------

_SOURCES_KEY = b"segml.sources"


@dataclass(frozen=True)
class SourceFiles:
    """Where a raw table's rows came from: its files in order, the data rows read from each
    (below its header), the non-blank lines above each header (titles, export dates), and the
    files of a folder left out."""

    names: tuple[str, ...]
    rows: tuple[int, ...]
    above_header: tuple[int, ...]
    ignored: tuple[tuple[str, str], ...] = ()

    @classmethod
    def single(cls, name: str, rows: int) -> SourceFiles:
        return cls((name,), (rows,), (0,))

    def locate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For 1-based rows of the joined table: the file (index into `names`) and the 1-based
        data row within that file."""
        if len(self.rows) == 1:  # one file: no copy of the row numbers
            return np.zeros(len(rows), dtype=np.int32), rows
        ends = np.cumsum(self.rows)
        file = np.searchsorted(ends, rows, side="left").astype(np.int32)
        return file, rows - np.r_[0, ends[:-1]][file]

    def attach(self, table: pa.Table) -> pa.Table:
        text = json.dumps(
            {
                "names": self.names,
                "rows": self.rows,
                "above_header": self.above_header,
                "ignored": self.ignored,
            }
        )
        return table.replace_schema_metadata({_SOURCES_KEY: text.encode()})


def sources_of(table: pa.Table | pd.DataFrame) -> SourceFiles | None:
    """The `SourceFiles` a raw table carries (None for a table not read here, e.g. a DataFrame)."""
    meta = getattr(getattr(table, "schema", None), "metadata", None) or {}
    if _SOURCES_KEY not in meta:
        return None
    found = json.loads(meta[_SOURCES_KEY])
    return SourceFiles(
        tuple(found["names"]),
        tuple(found["rows"]),
        tuple(found["above_header"]),
        tuple(tuple(pair) for pair in found["ignored"]),
    )
