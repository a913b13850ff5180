"""The only module that touches disk. Every write is atomic: a temp file, then a rename.

A crash therefore never leaves a half-written table under the final name.
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

from segml.errors import InputError, ProjectBusyError


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


def load_pickle(path: str | Path) -> Any:
    return pickle.loads(Path(path).read_bytes())


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


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


RAW_FORMATS = ("csv", "parquet", "xlsx", "xls")
# first bytes of workbook files: a zip container (xlsx) or an OLE2 compound file (xls)
_WORKBOOK_MAGIC = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}


CSV_BLOCK_BYTES = 32 << 20
UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}


def _csv_arrow_options(path: Path, encoding: str, delimiter: str):
    """Arrow's CSV (parse, convert) options for a UTF-8 export, every column as text; None when
    Arrow cannot take it as it is (other encodings, repeated headers, ragged rows...): pandas'
    reader then reads it, or words the error."""
    if encoding.lower() not in UTF8_NAMES or len(delimiter) != 1:
        return None
    parse = pa_csv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    try:
        with pa_csv.open_csv(path, parse_options=parse) as reader:  # reads the header
            names = reader.schema.names
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if len(set(names)) != len(names):
        return None
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return parse, convert


def _read_csv_arrow(path: Path, encoding: str, delimiter: str) -> pa.Table | None:
    """A UTF-8 CSV read columnar by Arrow (4-5x faster than pandas' reader), or None."""
    options = _csv_arrow_options(path, encoding, delimiter)
    if options is None:
        return None
    try:
        return pa_csv.read_csv(
            path,
            # large blocks: few chunks make later column work (take, combine) cheaper
            read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
            parse_options=options[0],
            convert_options=options[1],
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def text_table(raw: pd.DataFrame | pa.Table) -> pa.Table:
    """A user's table as Arrow `string` columns: as it is when every column is that already (as
    Arrow's CSV reader gives it), else each column as pandas writes it as text."""
    if isinstance(raw, pa.Table):
        if all(t == pa.string() for t in raw.schema.types):
            return raw
        raw = raw.to_pandas()
    return pa.table({str(c): text_array(raw[c]) for c in raw.columns})


def text_array(text: pd.Series) -> pa.Array:
    """A column as one Arrow `string` array, as pandas writes its values as text."""
    array = pa.array(text.astype("string"), type=pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def raw_table_batches(
    path: str | Path, config_key: str, stream: bool = True, batch_bytes: int = 64 << 20, **options
):
    """A user's export as Arrow tables of text, about `batch_bytes` of file each, in file order,
    for files too big to hold: a UTF-8 CSV streams through Arrow; anything else (or
    `stream=False`) is read whole by `read_raw_table`, whose checks and messages apply. Arrow may
    still give up part-way (a ragged row): it raises `pyarrow.ArrowInvalid`, and the caller starts
    again with `stream=False`."""
    path = Path(path)
    csv = (
        _csv_arrow_options(path, options["encoding"], options["delimiter"])
        if stream and options.get("fmt") == "csv" and path.is_file() and path.stat().st_size
        else None
    )
    if csv is None:
        yield read_raw_table(path, config_key=config_key, **options)
        return
    with pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(block_size=batch_bytes),
        parse_options=csv[0],
        convert_options=csv[1],
    ) as reader:
        empty = True
        for batch in reader:
            empty = False
            yield pa.Table.from_batches([batch])
        if empty:  # a header and no rows: the table keeps the columns
            yield reader.schema.empty_table()


def read_raw_table(
    path: str | Path,
    fmt: str,
    encoding: str,
    delimiter: str,
    config_key: str,
    sheet: str | int | None = None,
    encoding_key: str = "data.encoding",
    format_key: str = "data.format",
    sheet_key: str = "data.sheet",
) -> pa.Table:
    """Read a user's export as an Arrow table with every column as text, so nothing is lost or
    reinterpreted.

    Ids keep their leading zeros and unparseable values survive to be rejected with a reason.
    `fmt` is csv, parquet, xlsx or xls; `sheet` picks a workbook's sheet by name or 0-based
    position (default: the first). The `*_key` arguments name the config keys the messages advise.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(
            f"Input file {path} not found. Set `{config_key}` in conf/paths (or override it, e.g. "
            f"`segml run {config_key}=/path/to/file.csv`)."
        )
    if fmt not in RAW_FORMATS:
        raise InputError(
            f"Unsupported format {fmt!r} for {path}: set `{format_key}` to one of "
            f"{', '.join(RAW_FORMATS)}."
        )
    if path.stat().st_size == 0:
        raise InputError(
            f"{path} is empty (0 bytes): export it again with a header row and data "
            f"rows, or point `{config_key}` at the right file."
        )
    with path.open("rb") as handle:
        looks_like = _WORKBOOK_MAGIC.get(handle.read(4))
    if fmt == "csv" and looks_like:
        raise InputError(
            f"{path} is an Excel workbook ({looks_like}), not CSV: set "
            f"`{format_key}: {looks_like}` (and `{sheet_key}` if the data is not on "
            "the first sheet)."
        )
    try:
        if fmt == "parquet":
            return text_table(pd.read_parquet(path).astype("string"))
        if fmt in ("xlsx", "xls"):
            return text_table(_read_workbook(path, sheet, sheet_key, format_key))
        fast = _read_csv_arrow(path, encoding, delimiter)
        if fast is not None:
            return fast
        return text_table(
            pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                encoding=encoding,
                sep=delimiter,
                skipinitialspace=True,
            )
        )
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Cannot decode {path} as {encoding}: {exc.reason} at byte {exc.start}. "
            f"Set `{encoding_key}` (Excel exports are often gbk, gb18030 or utf-8-sig)."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{path} has no header row and no data (only blank lines): export it "
            "again with a header row and data rows, or point "
            f"`{config_key}` at the right file."
        ) from exc
    except InputError:
        raise
    except (pd.errors.ParserError, ValueError, OSError, ImportError) as exc:
        raise InputError(
            f"Cannot read {path} as {fmt}: {exc}. Check `{format_key}`"
            + (" and `data.delimiter`." if fmt == "csv" else ".")
        ) from exc


def _read_workbook(
    path: Path, sheet: str | int | None, sheet_key: str, format_key: str
) -> pd.DataFrame:
    """One sheet of an .xlsx/.xls workbook, every cell as text (dates as ISO text)."""
    from python_calamine import CalamineError

    try:
        # calamine reads both layouts, and large sheets many times faster than openpyxl
        book = pd.ExcelFile(path, engine="calamine")
    except CalamineError as exc:
        raise InputError(
            f"Cannot read {path} as an Excel workbook ({exc}): check `{format_key}` "
            "(csv, parquet, xlsx or xls) against the file's real type."
        ) from exc
    with book:
        names = book.sheet_names
        wanted = 0 if sheet is None else sheet
        if (isinstance(wanted, int) and not 0 <= wanted < len(names)) or (
            isinstance(wanted, str) and wanted not in names
        ):
            raise InputError(
                f"{path} has no sheet {wanted!r}; its sheets are {names}. "
                f"Set `{sheet_key}` to a sheet name or 0-based position."
            )
        table = book.parse(wanted, dtype=str, keep_default_na=False, na_filter=False)
    if table.columns.empty:
        name = names[wanted] if isinstance(wanted, int) else wanted
        raise InputError(
            f"Sheet {name!r} of {path} is empty: put a header row and data rows on "
            f"it, or set `{sheet_key}`."
        )
    table.columns = [str(c) for c in table.columns]
    return table


@contextmanager
def run_lock(path: str | Path, command: str):
    """Hold the project's run lock for the block, or refuse at once naming the holder.

    The lock is an advisory `flock` on `path`, so the operating system releases it when its
    holder dies, however it dies: a lock left by a killed run is simply taken over. The file
    records the holder's pid and command for the message. Where `flock` does not exist
    (Windows) the block runs unguarded.
    """
    import time

    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = ""
            for _ in range(20):  # the holder writes its record just after locking
                holder = path.read_text(encoding="utf-8").strip()
                if holder:
                    break
                time.sleep(0.05)
            record = json.loads(holder) if holder.startswith("{") else {}
            raise ProjectBusyError(
                "another segml command is running in this project: "
                f"pid {record.get('pid', '?')} (`{record.get('command', '?')}`, started "
                f"{record.get('started', '?')}). Nothing was changed; wait for it to finish or "
                f"stop it (lock file {path})."
            ) from None
        handle.seek(0)
        handle.truncate()
        record = {
            "pid": os.getpid(),
            "command": command,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        handle.write(json.dumps(record, ensure_ascii=False))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()  # an empty record: nobody holds it
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


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
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def read_yaml(path: str | Path) -> Any:
    import yaml

    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def reads_customer_file(customers: str | Path | None, data) -> bool:
    """Whether the customer file is read: given, and present or required (a missing required
    file then stops with a message)."""
    return customers is not None and (Path(customers).exists() or not data.customers_optional)


def read_raw_inputs(
    transactions: str | Path,
    customers: str | Path | None,
    data,
    keys: tuple[str, str] = ("paths.raw_transactions", "paths.raw_customers"),
) -> tuple[pa.Table, pa.Table | None]:
    """The user's transactions file and, when given and present (or required), the customer file,
    read with `data` (DataConfig) settings; `keys` name the settings (or options) in messages."""
    tx = read_raw_table(transactions, config_key=keys[0], **data.read_options())
    if not reads_customer_file(customers, data):
        return tx, None
    return tx, read_raw_table(customers, config_key=keys[1], **data.read_options(customers=True))
