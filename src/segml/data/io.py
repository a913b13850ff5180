"""The project's own files: every write atomic, and the readers of what the stages wrote.

Every write goes to a temp file, then a rename, so a crash never leaves a half-written table under
the final name. Tables are parquet (or folders of partition files, `part_file`), CSV for people
and systems, JSON, pickles and text. The user's raw exports are read by `segml.data.raw`; this
module and that one are the only ones that touch disk (through `segml.data.catalog` by name).
"""

from __future__ import annotations

import codecs
import json
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from segml.errors import InputError


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path next to `path`; move it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphaned_temp_files(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same folder: the rename is atomic
    try:
        yield tmp
        if path.is_dir():  # a folder of partitions (engine: dask) becomes one file again
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def replace_folder(built: str | Path, path: str | Path) -> Path:
    """Put a folder written in full elsewhere (on the same disk) where `path` is, replacing the
    file or folder there: readers see the old one, nothing (between the two renames) or the new
    one, never a half-written one."""
    built, path = Path(built), Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.with_name(f".{path.name}.{os.getpid()}.old")
    if path.exists():
        os.replace(path, old)
    os.replace(built, path)
    if old.is_dir():
        shutil.rmtree(old)
    else:
        old.unlink(missing_ok=True)
    return path


def empty_folder(path: str | Path) -> Path:
    """`path` as a new, empty folder (whatever was there is removed)."""
    path = Path(path)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@contextmanager
def scratch_folder(path: str | Path) -> Iterator[Path]:
    """An empty folder at `path` for files needed only while the block runs; removed on exit,
    whatever happens."""
    try:
        yield empty_folder(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def folder_replacing(path: str | Path) -> Iterator[Path]:
    """An empty folder beside `path` (`.<name>.partial`, on the same disk) to write a folder of
    partition files into; when the block succeeds it replaces `path` (`replace_folder`), and
    whatever happens nothing of it is left behind."""
    path = Path(path)
    with scratch_folder(path.with_name(f".{path.name}.partial")) as work:
        yield work
        replace_folder(work, path)


def _remove_orphaned_temp_files(path: Path) -> None:
    """Delete temp files a killed writer left beside `path` (their process is gone), so a rerun
    starts clean and DVC never caches them as part of an output folder."""
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = tmp.name.removeprefix(f".{path.name}.").removesuffix(".tmp")
        if pid.isdigit() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    """True when a process with this id exists (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | Path, row_groups_by: str | None = None) -> Path:
    """`row_groups_by`: a column whose equal values are next to one another (the labelled table's
    cutoff). Each run of them gets row groups of its own, so a reader that filters on the column
    decodes only its own rows, where a row group spanning two cutoffs would be decoded twice."""
    # dictionary encoding pays for text and dates; for numbers it costs more write time than it saves
    repeating = [str(c) for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if row_groups_by is None:
        return _write(path, lambda p: df.to_parquet(p, index=False, use_dictionary=repeating))
    table = pa.Table.from_pandas(df, preserve_index=False)
    key = df[row_groups_by].to_numpy()
    bounds = [0, *(np.flatnonzero(key[1:] != key[:-1]) + 1).tolist(), len(df)]

    def write(p: Path) -> None:
        with pq.ParquetWriter(p, table.schema, use_dictionary=repeating) as writer:
            for start, stop in zip(bounds[:-1], bounds[1:]):
                if stop > start:
                    writer.write_table(table.slice(start, stop - start))

    return _write(path, write)


def write_csv(df: pd.DataFrame, path: str | Path, encoding: str = "utf-8-sig") -> Path:
    """CSV in any encoding, as a source system would export it (the demo's raw files); LF line ends."""
    return _write(path, lambda p: df.to_csv(p, index=False, encoding=encoding, lineterminator="\n"))


def write_table_csv(
    df: pd.DataFrame, path: str | Path, bom: bool = True, header: bool = True
) -> Path:
    """A result table as CSV for Excel users and systems: UTF-8, with a BOM so Excel shows Chinese
    text correctly (`bom=False` for tools that read the BOM as part of the first name, such as
    `dvc plots`); LF line ends. Arrow writes it (a million rows in seconds, where pandas takes
    most of a minute): text is always quoted, whole floats print without ".0", booleans as
    true/false. Without `bom` and `header`, a piece that `join_files` puts after another."""
    mixed = {c: one_type(df[c]) for c in df.columns if df[c].dtype == object}
    table = pa.Table.from_pandas(df.assign(**mixed), preserve_index=False)
    options = pa_csv.WriteOptions(include_header=header)

    def write(p: Path) -> None:
        with open(p, "wb") as out:
            out.write(codecs.BOM_UTF8 if bom else b"")
            pa_csv.write_csv(table, out, options)

    return _write(path, write)


def join_files(pieces: list[Path], path: str | Path) -> Path:
    """One file of the pieces' bytes, one after another, streamed (a CSV written in partitions)."""

    def write(p: Path) -> None:
        with open(p, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)

    return _write(path, write)


def one_type(values: pd.Series) -> pd.Series:
    """An object column as one Arrow type: yes/no when it holds only booleans (a yes/no column
    with missing rows), else text."""
    if pd.api.types.infer_dtype(values, skipna=True) == "boolean":  # every value present a bool
        return values.astype("boolean")
    return values.astype("str")


def write_json(obj: Any, path: str | Path) -> Path:
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=float)
    return _write(path, lambda p: p.write_text(text + "\n", encoding="utf-8"))


def write_text(text: str, path: str | Path) -> Path:
    return _write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_bytes(data: bytes, path: str | Path) -> Path:
    return _write(path, lambda p: p.write_bytes(data))


def save_pickle(obj: Any, path: str | Path) -> Path:
    return _write(
        path, lambda p: p.write_bytes(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    )


# Classes that moved after pickles of them were written (models/*.pkl, champions in the MLflow
# registry): (module a pickle names, class) -> the module it lives in now. Without this a user's
# champion, pickled before a move, would no longer load.
MOVED_CLASSES = {
    ("segml.models.training", name): "segml.models.scorers"
    for name in ("ChurnModel", "UpsideModel", "RuleScorer", "_Platt", "_LightGBMModel")
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(MOVED_CLASSES.get((module, name), module), name)


def load_pickle(path: str | Path) -> Any:
    with Path(path).open("rb") as file:
        return _Unpickler(file).load()


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_yaml(path: str | Path) -> Any:
    return parse_yaml(Path(path).read_text(encoding="utf-8"))


def parse_yaml(text: str) -> Any:
    """YAML text as Python values, safely; with libyaml's parser where PyYAML has it (params.yaml
    is read by every stage process: 0.015 s instead of 0.2 s)."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def part_file(folder: str | Path, k: int, suffix: str = ".parquet") -> Path:
    """Partition k's file of a table written as a folder of partitions (engine: dask); pandas and
    pyarrow read the folder as one table, the files in name order."""
    return Path(folder) / f"part-{k:05d}{suffix}"


def part_files(folder: str | Path, suffix: str = ".parquet") -> list[Path]:
    return sorted(Path(folder).glob(f"part-*{suffix}"))


def table_parts(path: str | Path) -> list[Path]:
    """The files of a table: those of a folder of partitions, or the one file."""
    return part_files(path) if Path(path).is_dir() else [Path(path)]


def read_parquet_table(path: str | Path) -> pa.Table:
    """A parquet file as an Arrow table (no copy into pandas)."""
    return pq.read_table(path)


def read_parquet_schema(path: str | Path) -> pa.Schema:
    """A parquet file's Arrow schema, from its footer alone."""
    return pq.ParquetFile(path).schema_arrow


@contextmanager
def parquet_writer(path: str | Path, schema: pa.Schema, **options) -> Iterator[pq.ParquetWriter]:
    """A parquet file written table by table (`writer.write_table`), in place once the block
    succeeds; `options` go to `pyarrow.parquet.ParquetWriter`."""
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, **options) as writer:
        yield writer


# scratch files, read once: Arrow's own format with fast compression writes several times faster
# than Parquet
_SCRATCH = pa.ipc.IpcWriteOptions(compression="lz4")


def arrow_file_writer(path: str | Path, schema: pa.Schema) -> pa.ipc.RecordBatchFileWriter:
    """A scratch file of Arrow tables (the caller closes it)."""
    return pa.ipc.new_file(path, schema, options=_SCRATCH)


def read_arrow_file(path: str | Path) -> pa.Table:
    with pa.ipc.open_file(path) as reader:
        return reader.read_all()


def save_array(array: np.ndarray, path: str | Path) -> None:
    """A scratch file of one numpy array."""
    np.save(path, array)


def load_array(path: str | Path) -> np.ndarray | None:
    """The array `save_array` wrote there, or None when there is none."""
    return np.load(path) if Path(path).exists() else None


def read_parquet(path: str | Path, **options) -> pd.DataFrame:
    """A stage's parquet output; `options` go to pandas (e.g. `filters` to read only some rows)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} not found: run the earlier pipeline stages first (`segml run`).")
    return pd.read_parquet(path, **options)


def read_parquet_head(path: str | Path, rows: int) -> pd.DataFrame:
    """The first `rows` rows of a parquet file or folder of partition files, read alone."""
    return _dataset(path).head(rows).to_pandas()


def read_parquet_columns(path: str | Path) -> list[str]:
    """The column names of a parquet file or folder of partition files, from its schema."""
    return _dataset(path).schema.names


def _dataset(path: str | Path) -> ds.Dataset:
    if not Path(path).exists():
        raise InputError(f"{path} not found: run the earlier pipeline stages first (`segml run`).")
    return ds.dataset(path)


def release_arrow_memory() -> None:
    """Hand memory of freed Arrow-backed tables back to the system: Arrow's allocator keeps it for
    reuse otherwise, and numpy can never reuse it."""
    pa.default_memory_pool().release_unused()
