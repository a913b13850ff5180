"""The artifact catalog: every file the pipeline reads or writes, by its name in conf/paths.

Kedro's catalog idea without Kedro: stage scripts, the CLI and tracking never write a file name;
they ask for `catalog.read("snapshot")` or `catalog.write("tiers", table)`, and the file's suffix
picks the format. Writes go through segml.data.io, so every one is atomic.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import pandas as pd

from segml.config import PathsConfig
from segml.data import io

FOLDER_KEYS = {f.name for f in fields(PathsConfig) if f.name.endswith("_dir")}


class Catalog:
    """File paths by artifact name."""

    def __init__(self, paths: dict[str, Path]):
        self.paths = dict(paths)

    @classmethod
    def from_config(cls, paths: PathsConfig, root: Path | None = None) -> Catalog:
        """The catalog of `conf/paths`, relative to the working folder or to `root`."""
        base = Path(root) if root else Path()
        # project files only: folders and the paths inside an MLflow run are not artifacts here
        files = {k: v for k, v in asdict(paths).items() if isinstance(v, str) and v}
        return cls({k: base / v for k, v in files.items() if k not in FOLDER_KEYS})

    def path(self, name: str) -> Path:
        if name not in self.paths:
            raise KeyError(
                f"no artifact named {name!r} in conf/paths (known: {sorted(self.paths)})"
            )
        return self.paths[name]

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def under(self, folder: Path, names: list[str]) -> Catalog:
        """A catalog whose `names` keep their file names but live in `folder` (`segml score --out`)."""
        return Catalog(
            {**self.paths, **{name: Path(folder) / self.path(name).name for name in names}}
        )

    def read(self, name: str, **options) -> Any:
        """Read by the file's format (its suffix); `options` go to the reader (parquet:
        `filters=[...]` reads only some rows)."""
        path = self.path(name)
        reader = READERS.get(file_format(path))
        if reader is None:
            raise ValueError(f"{name}: no reader for {path.suffix} files")
        return reader(path, **options)

    def read_columns(self, name: str, columns: list[str]) -> pd.DataFrame:
        """Those of `columns` that the parquet table has (a feature switched off in config leaves
        its columns out), and no others."""
        present = set(io.read_parquet_columns(self.path(name)))
        return self.read(name, columns=[c for c in columns if c in present])

    def write(self, name: str, obj: Any, **options) -> Path:
        """Write by the file's format (its suffix): parquet, csv, json, pkl; bytes and text as
        they are."""
        path = self.path(name)
        if isinstance(obj, bytes):
            return io.write_bytes(obj, path)
        if isinstance(obj, str):
            return io.write_text(obj, path)
        writer = WRITERS.get(file_format(path))
        if writer is None:
            raise ValueError(f"{name}: no writer for {path.suffix} files")
        return writer(obj, path, **options)


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
