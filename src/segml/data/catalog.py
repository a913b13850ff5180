"""The artifact catalog: every artifact the pipeline reads or writes, by its name in conf/paths.

Kedro's catalog idea without Kedro: stages, the CLI and tracking never write a file name; they
ask for `catalog.read("snapshot")` or `catalog.write("tiers", table)`. An entry is a file (its
suffix picks the format; writes go through segml.data.io, so every one is atomic) or, in a run that
keeps its intermediates (`run_pipeline`, `segml score`), an object held in memory: the same names,
the same reads (`filters=`, `columns=`) and writes, no file.

DVC metrics come in pairs (README, "DVC metrics"): `<entry>` is the file DVC tracks as a metric,
the headline numbers `dvc exp show` compares, and `<entry>_details` beside it is the stage's whole
record (per-fold tables, sentences, lists), which is not a DVC metric. `write_metrics` writes both;
reading `<entry>` gives the whole record, so readers never need to know which is which.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segml.config import DataConfig, PathsConfig
from segml.data import io
from segml.data.files import input_exists
from segml.data.raw import read_raw_inputs, read_raw_table
from segml.errors import InputError

FOLDER_KEYS = {f.name for f in fields(PathsConfig) if f.name.endswith("_dir")}
RAW = ("raw_transactions", "raw_customers")  # the user's export, read with conf/data's settings
DETAILS = "_details"  # the entry beside a DVC metrics file that holds the whole record


class Catalog:
    """Artifacts by name: file paths, and the entries `held` in memory instead."""

    def __init__(
        self,
        paths: dict[str, Path],
        held: Iterable[str] = (),
        objects: dict[str, Any] | None = None,
        keys: dict[str, str] | None = None,
    ):
        self.paths = dict(paths)
        self.held = frozenset(held)
        # entries held in memory, by key: the name, or for a part's entry "<part>/<name>" (`part`)
        self._objects: dict[str, Any] = {} if objects is None else objects
        self._keys = dict(keys or {})
        unknown = self.held - set(self.paths)
        if unknown:
            raise KeyError(f"no artifacts named {sorted(unknown)} in conf/paths")

    @classmethod
    def from_config(cls, paths: PathsConfig, root: Path | None = None) -> Catalog:
        """The catalog of `conf/paths`, relative to the working folder or to `root`."""
        base = Path(root) if root else Path()
        # project files only: folders and the paths inside an MLflow run are not artifacts here
        files = {k: v for k, v in asdict(paths).items() if isinstance(v, str) and v}
        return cls({k: base / v for k, v in files.items() if k not in FOLDER_KEYS})

    def at(self, paths: dict[str, Path]) -> Catalog:
        """A catalog whose entries in `paths` are those files (`segml score --input`)."""
        return Catalog({**self.paths, **{k: Path(v) for k, v in paths.items()}}, self.held)

    def under(self, folder: Path, names: list[str]) -> Catalog:
        """A catalog whose `names` keep their file names but live in `folder` (`segml score --out`)."""
        return self.at({name: Path(folder) / self.path(name).name for name in names})

    def part(self, part: str, names: Iterable[str]) -> Catalog:
        """A view in which `names` (and their metrics details) are one part's own: files in a
        sub-folder `part` beside where conf/paths puts them, objects held apart; every other entry
        is shared with this catalog (`data.kind: both`: `segml.stages.parts`)."""
        own = {n for name in names for n in (name, f"{name}{DETAILS}") if n in self.paths}
        paths = {n: self.paths[n].parent / part / self.paths[n].name for n in own}
        keys = {n: f"{part}/{n}" for n in own}
        return Catalog({**self.paths, **paths}, self.held, self._objects, {**self._keys, **keys})

    def _key(self, name: str) -> str:
        return self._keys.get(name, name)

    def in_memory(self, files: Iterable[str] = ()) -> Catalog:
        """A catalog holding every entry in memory but `files` (which stay files)."""
        return Catalog(self.paths, set(self.paths) - set(files))

    def path(self, name: str) -> Path:
        """The entry's file (an entry held in memory has none)."""
        if name in self.held:
            raise ValueError(f"{name} is held in memory in this run: it has no file")
        return self._known(name)

    def source(self, name: str) -> str:
        """Where the entry comes from, as messages and rejected rows name it: its path in conf/paths
        (or on the command line), even when its content is held in memory ("" when it has none)."""
        return str(self.paths[name]) if name in self.paths else ""

    def _known(self, name: str) -> Path:
        if name not in self.paths:
            raise KeyError(
                f"no artifact named {name!r} in conf/paths (known: {sorted(self.paths)})"
            )
        return self.paths[name]

    def exists(self, name: str) -> bool:
        return self._key(name) in self._objects if name in self.held else self.path(name).exists()

    def read_optional(self, name: str) -> Any:
        """`read`, or None when the entry has not been made (an optional input or record)."""
        return self.read(name) if self.exists(name) else None

    def read(self, name: str, **options) -> Any:
        """Read by the file's format (its suffix); `options` go to the reader (parquet:
        `filters=[...]` reads only some rows, `columns=[...]` only some columns). A DVC metrics
        entry reads as its whole record (`<name>_details`) when there is one."""
        details = f"{name}{DETAILS}"
        if details in self.paths and self.exists(details):
            return self.read(details, **options)
        if name in self.held:
            return _select(self._held(name), **options)
        path = self.path(name)
        reader = READERS.get(file_format(path))
        if reader is None:
            raise ValueError(f"{name}: no reader for {path.suffix} files")
        return reader(path, **options)

    def read_columns(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Those of `columns` that the table has (a feature switched off in config leaves its
        columns out), and no others."""
        if name in self.held:
            present = set(self._held(name).columns)
        else:
            present = set(io.read_parquet_columns(self.path(name)))
        return self.read(name, columns=[c for c in columns if c in present])

    def read_head(self, name: str, rows: int) -> pd.DataFrame:
        """The table's first `rows` rows, read alone."""
        if name in self.held:
            return self._held(name).head(rows).copy()
        return io.read_parquet_head(self.path(name), rows)

    def read_raw_inputs(self, data: DataConfig) -> tuple[Any, Any]:
        """The user's export: the transactions and the customer table (None when there is none),
        held as given, or read from their files with `data`'s settings (every column as text)."""
        if RAW[0] in self.held:
            return self._held(RAW[0]), self._objects.get(self._key(RAW[1]))
        return read_raw_inputs(self.path(RAW[0]), self.paths.get(RAW[1]), data)

    def read_raw(self, name: str, options: dict[str, Any], optional: bool = False) -> Any:
        """Another input of the user's export (`raw_subscriptions`, `raw_usage`, ...): held as
        given, or read from its file (or folder, or glob) with `raw.read_raw_table`'s `options`
        (every column as text). None when it is `optional` and not there."""
        if name in self.held:
            return self._objects.get(self._key(name)) if optional else self._held(name)
        path = self.path(name)
        if optional and not input_exists(path):
            return None
        return read_raw_table(path, config_key=f"paths.{name}", **options)

    def _held(self, name: str) -> Any:
        if self._key(name) not in self._objects:
            raise InputError(
                f"{name} has not been made yet in this run: run the stage making it first"
            )
        return self._objects[self._key(name)]

    def write(self, name: str, obj: Any, **options) -> Path | None:
        """Write by the file's format (its suffix): parquet, csv, json, pkl; bytes and text as
        they are. An entry held in memory keeps `obj` itself (`options` are the file's)."""
        if name in self.held:
            self._objects[self._key(name)] = obj
            return None
        if f"{name}{DETAILS}" in self.paths:
            raise ValueError(
                f"{name} is a DVC metrics file with its details beside it: write both with "
                f"write_metrics({name!r}, record, headline)"
            )
        path = self.path(name)
        if isinstance(obj, bytes):
            return io.write_bytes(obj, path)
        if isinstance(obj, str):
            return io.write_text(obj, path)
        writer = WRITERS.get(file_format(path))
        if writer is None:
            raise ValueError(f"{name}: no writer for {path.suffix} files")
        return writer(obj, path, **options)

    def write_metrics(self, name: str, record: dict, headline: dict) -> None:
        """A stage's metrics: `headline` (checked by `check_headline`) as the DVC metrics file
        `name`, the whole `record` as `<name>_details` (what reading `name` gives)."""
        check_headline(name, headline)
        self.write(f"{name}{DETAILS}", record)
        if name in self.held:
            self._objects[self._key(name)] = headline
        else:
            WRITERS["json"](headline, self.path(name))


# a headline is a few numbers: a DVC metrics file with more makes `dvc exp show` unreadable
MAX_HEADLINE = 6


def check_headline(name: str, headline: dict) -> None:
    """Stop when a DVC metrics file would hold anything but a few numbers (or yes/no values), at
    most two levels deep: text, lists and long tables belong in its details."""
    flat = {}
    for key, value in headline.items():
        inner = value if isinstance(value, dict) else {"": value}
        for sub, number in inner.items():
            flat[f"{key}.{sub}" if sub else key] = number
    wrong = {k: type(v).__name__ for k, v in flat.items() if not _is_number(v)}
    if wrong:
        raise ValueError(
            f"{name}: a DVC metrics file holds numbers only, found {wrong}; put them in its "
            "details (the record write_metrics writes beside it)"
        )
    if len(flat) > MAX_HEADLINE:
        raise ValueError(
            f"{name}: {len(flat)} headline numbers, at most {MAX_HEADLINE} (`dvc exp show` must "
            "stay readable): keep the rest in its details"
        )


def _is_number(value: Any) -> bool:
    """A number DVC shows as one: int, float, yes/no (numpy's too) or null (not measured)."""
    return value is None or isinstance(value, (numbers.Real, np.bool_))


# what pyarrow's `filters` mean, for a table held in memory
_COMPARE = {
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": lambda values, wanted: values.isin(list(wanted)),
    "not in": lambda values, wanted: ~values.isin(list(wanted)),
}


def _select(obj: Any, filters: list[tuple] | None = None, columns: list[str] | None = None) -> Any:
    """What reading a parquet file with these options gives, from a frame held in memory: the rows
    passing every filter (renumbered), those columns. Never the held frame itself: a reader may
    change what it gets."""
    if not isinstance(obj, pd.DataFrame):
        return obj
    frame = obj
    if filters:
        keep = pd.Series(True, index=frame.index)
        for column, op, value in filters:
            keep &= _COMPARE[op](frame[column], value)
        frame = frame[keep.to_numpy()].reset_index(drop=True)
    if columns is not None:
        frame = frame[list(columns)]
    return frame.copy(deep=False)  # copy-on-write: a change copies, never reaches the held frame


def file_format(path: Path) -> str:
    return path.suffix.lstrip(".").lower()


READERS = {
    "parquet": io.read_parquet,
    "json": io.read_json,
    "pkl": io.load_pickle,
    "csv": lambda path: pd.read_csv(path, encoding="utf-8-sig"),
}
WRITERS = {
    "parquet": io.write_parquet,
    "csv": io.write_table_csv,
    "json": io.write_json,
    "pkl": io.save_pickle,
}
