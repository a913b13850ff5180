"""Reading the user's raw input: their exports, every column as text, or a message saying why not.

Nothing is reinterpreted here (ids keep their leading zeros, unparseable values survive to be
rejected with a reason by `segml.data.validate`). An input is read in steps, each its own function
so a new habit of the users' exports has one place to go: which files (`segml.data.files`: one file,
a folder of monthly files, or a glob; stray files such as Excel's `~$` lock files and `desktop.ini`
are left out and listed), the checks any file must pass (`_check_file`), where its header is
(`data.header_row`, or `auto`: the first row that holds the mapped column names; title lines above
it are counted), the header's names (stripped; a name twice stops), a reader per format (`_READERS`:
CSV through Arrow with a pandas fallback for other encodings and delimiters, compressed CSV,
workbooks through calamine, parquet), the files joined (the same columns in each, or a stop naming
the file), and the reader's errors worded with the config key to set (`_worded`). Big CSV files
stream in batches (`raw_table_batches`). What was read from which file travels with the table
(`segml.data.files.SourceFiles`), so every rejected row keeps its file and row. The project's own
files are `segml.data.io`'s.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io as _io
import lzma
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from segml.data.files import (
    COMPRESSED,
    InputFiles,
    SourceFiles,
    input_exists,
    input_files,
    one_file,
    sources_of,
)
from segml.errors import InputError

RAW_FORMATS = ("csv", "parquet", "xlsx", "xls")
# first bytes of workbook files: a zip container (xlsx) or an OLE2 compound file (xls)
_WORKBOOK_MAGIC = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}


CSV_BLOCK_BYTES = 32 << 20
UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}
# the header is looked for among a file's first rows (`data.header_row: auto`)
HEADER_SEARCH_ROWS = 50
AUTO = "auto"


class _Keys(NamedTuple):
    """The config keys (or command-line options) a message about one file advises setting."""

    path: str
    encoding: str = "data.encoding"
    format: str = "data.format"
    sheet: str = "data.sheet"
    header_row: str = "data.header_row"


# --- the user's files ----------------------------------------------------------------------


def reads_customer_file(customers: str | Path | None, data) -> bool:
    """Whether the customer file is read: given, and present or required (a missing required
    file then stops with a message)."""
    return customers is not None and (input_exists(customers) or not data.customers_optional)


def read_raw_inputs(
    transactions: str | Path,
    customers: str | Path | None,
    data,
    keys: tuple[str, str] = ("paths.raw_transactions", "paths.raw_customers"),
) -> tuple[pa.Table, pa.Table | None]:
    """The user's transactions file (or folder, or glob) and, when given and present (or
    required), the customer file, read with `data` (DataConfig) settings; `keys` name the
    settings (or options) in messages."""
    tx = read_raw_table(transactions, config_key=keys[0], **data.read_options())
    if not reads_customer_file(customers, data):
        return tx, None
    return tx, read_raw_table(customers, config_key=keys[1], **data.read_options(customers=True))


@dataclass(frozen=True)
class _Header:
    """Where a file's header is and what it says: `skip` lines before it (blank ones included),
    `above` of them not blank, and the column names."""

    skip: int
    above: int
    names: list[str]


@dataclass(frozen=True)
class _Options:
    """How to read one file: the reader settings and the header to look for."""

    encoding: str
    delimiter: str
    sheet: str | int | None
    header_row: int | str | None
    header_names: tuple[str, ...]
    keys: _Keys


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
    header_row: int | str | None = AUTO,
    header_names: tuple[str, ...] = (),
    header_key: str = "data.header_row",
) -> pa.Table:
    """Read a user's export (a file, a folder of files or a glob) as one Arrow table with every
    column as text, so nothing is lost or reinterpreted.

    Ids keep their leading zeros and unparseable values survive to be rejected with a reason.
    `fmt` is csv, parquet, xlsx or xls (in a folder, each file's suffix says); `sheet` picks a
    workbook's sheet by name or 0-based position (default: the first); `header_row` is the
    0-based row of the header, or `auto`: the first row holding every name of `header_names`.
    The `*_key` arguments name the config keys the messages advise. The table carries its
    `SourceFiles` (`sources_of`)."""
    keys = _Keys(config_key, encoding_key, format_key, sheet_key, header_key)
    options = _Options(encoding, delimiter, sheet, header_row, tuple(header_names), keys)
    found = input_files(path, fmt, keys.path)
    pieces = []
    for file, file_fmt in found.files:
        _check_file(file, file_fmt, keys)
        with _worded(file, file_fmt, encoding, keys):
            header, table = _READERS[file_fmt](file, options)
        pieces.append((file, header, table))
    return _joined(path, found, pieces)


def _joined(path: str | Path, found: InputFiles, pieces: list) -> pa.Table:
    """The files' tables as one, in the first file's column order, with their `SourceFiles`; a
    file whose columns differ stops, naming it."""
    first_file, first_header, _ = pieces[0]
    tables = []
    for file, header, table in pieces:
        same_columns(first_file, first_header.names, file, header.names)
        tables.append(table.select(first_header.names).replace_schema_metadata(None))
    names = (str(path),) if one_file(path) else tuple(str(file) for file, _, _ in pieces)
    sources = SourceFiles(
        names,
        tuple(t.num_rows for t in tables),
        tuple(header.above for _, header, _ in pieces),
        found.ignored,
    )
    return sources.attach(pa.concat_tables(tables) if len(tables) > 1 else tables[0])


def same_columns(first: Path, names: list[str], file: Path, theirs: list[str]) -> None:
    """Stop, naming the file and the columns, when `file`'s columns are not `first`'s (the order
    may differ)."""
    if set(theirs) == set(names):
        return
    extra = [c for c in theirs if c not in names]
    missing = [c for c in names if c not in theirs]
    raise InputError(
        f"{file} does not have the columns of {first}: "
        + "; ".join(
            part
            for part in (
                f"it adds {extra}" if extra else "",
                f"it lacks {missing}" if missing else "",
            )
            if part
        )
        + ". Every file of a folder or pattern must have the same columns: export it again with "
        "them, or move it out of the folder."
    )


def raw_table_batches(
    path: str | Path, config_key: str, stream: bool = True, batch_bytes: int = 64 << 20, **options
) -> Iterator[tuple[int, str, int, pa.Table]]:
    """A user's export as Arrow tables of text, about `batch_bytes` of file each, in file order,
    for inputs too big to hold: (file index, file name, lines above its header, table). A UTF-8
    CSV streams through Arrow; anything else (or `stream=False`) is read whole by
    `read_raw_table`, whose checks and messages apply. Arrow may still give up part-way (a ragged
    row): it raises `pyarrow.ArrowInvalid`, and the caller starts again with `stream=False`. A
    file whose columns differ from the first's stops, naming it."""
    keys = _Keys(
        config_key,
        options.get("encoding_key", "data.encoding"),
        options.get("format_key", "data.format"),
        options.get("sheet_key", "data.sheet"),
        options.get("header_key", "data.header_row"),
    )
    found = input_files(path, options["fmt"], keys.path)
    first = None
    for k, (file, fmt) in enumerate(found.files):
        name = str(path) if one_file(path) else str(file)
        opts = {**options, "fmt": fmt}
        for header, table in _file_batches(file, keys, stream, batch_bytes, opts):
            if first is None:
                first = (file, header.names)
            same_columns(first[0], first[1], file, header.names)
            yield k, name, header.above, table.select(first[1]).replace_schema_metadata(None)


def _file_batches(file: Path, keys: _Keys, stream: bool, batch_bytes: int, options: dict):
    csv_read = None
    if stream and options["fmt"] == "csv":
        _check_file(file, "csv", keys)
        with _worded(file, "csv", options["encoding"], keys):
            csv_read = _csv_arrow_options(file, _options(options, keys))
    if csv_read is None:
        table = read_raw_table(file, config_key=keys.path, **options)
        sources = sources_of(table)
        names = table.column_names
        yield _Header(0, sources.above_header[0] if sources else 0, names), table
        return
    header, read, parse, convert = csv_read
    with pa_csv.open_csv(
        file,
        read_options=pa_csv.ReadOptions(
            block_size=batch_bytes, skip_rows=read.skip_rows, column_names=read.column_names
        ),
        parse_options=parse,
        convert_options=convert,
    ) as reader:
        empty = True
        for batch in reader:
            empty = False
            yield header, pa.Table.from_batches([batch])
        if empty:  # a header and no rows: the table keeps the columns
            yield header, reader.schema.empty_table()


def _options(options: dict, keys: _Keys) -> _Options:
    return _Options(
        options["encoding"],
        options["delimiter"],
        options.get("sheet"),
        options.get("header_row", AUTO),
        tuple(options.get("header_names", ())),
        keys,
    )


def _check_file(path: Path, fmt: str, keys: _Keys) -> None:
    """Stop, saying what to set, when the file cannot be one to read as `fmt`: missing, of a
    format segml does not read, empty, or a workbook named as CSV."""
    if not path.exists():
        if keys.path.startswith("--"):  # a command-line option (`segml score --input`)
            raise InputError(f"Input file {path} not found: check the path given to `{keys.path}`.")
        raise InputError(
            f"Input file {path} not found. Set `{keys.path}` in conf/paths (or override it, e.g. "
            f"`segml run {keys.path}=/path/to/file.csv`)."
        )
    if fmt not in RAW_FORMATS:
        raise InputError(
            f"Unsupported format {fmt!r} for {path}: set `{keys.format}` to one of "
            f"{', '.join(RAW_FORMATS)}."
        )
    if path.stat().st_size == 0:
        raise InputError(
            f"{path} is empty (0 bytes): export it again with a header row and data "
            f"rows, or point `{keys.path}` at the right file."
        )
    with path.open("rb") as handle:
        looks_like = _WORKBOOK_MAGIC.get(handle.read(4))
    if fmt == "csv" and looks_like and _compression(path) != "zip":
        raise InputError(
            f"{path} is an Excel workbook ({looks_like}), not CSV: set "
            f"`{keys.format}: {looks_like}` (and `{keys.sheet}` if the data is not on "
            "the first sheet)."
        )


@contextmanager
def _worded(path: Path, fmt: str, encoding: str, keys: _Keys):
    """A reader's failure as an InputError naming the file and the config key to set."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Cannot decode {path} as {encoding}: {exc.reason} at byte {exc.start}. "
            f"Set `{keys.encoding}` (Excel exports are often gbk, gb18030 or utf-8-sig)."
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{path} has no header row and no data (only blank lines): export it "
            "again with a header row and data rows, or point "
            f"`{keys.path}` at the right file."
        ) from exc
    except InputError:
        raise
    except (pd.errors.ParserError, ValueError, OSError, ImportError, EOFError) as exc:
        raise InputError(
            f"Cannot read {path} as {fmt}: {exc}. Check `{keys.format}`"
            + (" and `data.delimiter`." if fmt == "csv" else ".")
        ) from exc


# --- the header ----------------------------------------------------------------------------------


def column_name(cell: object, position: int) -> str:
    """A header cell as a column name: stripped of white space and of the invisible marks
    spreadsheets leave (a byte-order mark, zero-width spaces); a blank one is named as pandas
    names it."""
    text = "" if cell is None or (isinstance(cell, float) and np.isnan(cell)) else str(cell)
    text = text.strip().strip("\ufeff\u200b\u200c\u200d\u2060").strip()
    return text or f"Unnamed: {position}"


def header_names(cells: list, path: Path, row: int) -> list[str]:
    """The header's column names; a name that appears twice (also once stripped) stops, naming
    it: which of the two holds the data cannot be told."""
    names = [column_name(cell, j) for j, cell in enumerate(cells)]
    seen: dict[str, list[int]] = {}
    for j, name in enumerate(names):
        seen.setdefault(name, []).append(j + 1)
    twice = {name: where for name, where in seen.items() if len(where) > 1}
    if twice:
        listed = "; ".join(f"{name!r} in columns {where}" for name, where in twice.items())
        raise InputError(
            f"{path}: the header (row {row + 1}) names a column more than once: {listed}. A "
            "spreadsheet copy or a merge of two exports repeated it, and segml cannot tell which "
            "one holds the data: rename or delete the extra column in the file."
        )
    return names


def _filled(cells: list) -> bool:
    """Whether a row holds any text (a blank line, or a row of empty cells, does not)."""
    return any(not column_name(cell, 0).startswith("Unnamed: ") for cell in cells)


def _find_header(rows: list[list], options: _Options, path: Path) -> int:
    """The header's row among a file's first rows: `data.header_row`, or with `auto` the first
    row that holds every mapped column name (else the first row with any text)."""
    if options.header_row not in (None, AUTO):
        row = int(options.header_row)
        if not 0 <= row < len(rows):
            raise InputError(
                f"{path}: `{options.keys.header_row}` is {row}, but the file has "
                f"{len(rows)} row(s) there. Set it to the 0-based row of the header, or to auto."
            )
        return row
    filled = [i for i, cells in enumerate(rows) if _filled(cells)]
    wanted = set(options.header_names)
    for i in filled if wanted else ():
        if wanted <= {column_name(c, j) for j, c in enumerate(rows[i])}:
            return i
    return filled[0] if filled else 0


def _count_above(rows: list[list], header: int) -> int:
    """The lines above the header that hold text (titles, export dates), not blank ones."""
    return sum(_filled(cells) for cells in rows[:header])


# --- one reader per format: (path, options) -> (header, text table) -------------------------------


def _compression(path: Path) -> str | None:
    return COMPRESSED.get(path.suffix.lower())


def _open_text(path: Path, encoding: str):
    """The file as text (decompressed when its name says so), for reading its first lines."""
    kind = _compression(path)
    if kind == "gzip":
        binary = gzip.open(path, "rb")
    elif kind == "bz2":
        binary = bz2.open(path, "rb")
    elif kind == "xz":
        binary = lzma.open(path, "rb")
    elif kind == "zip":
        archive = zipfile.ZipFile(path)
        binary = archive.open(archive.namelist()[0])
    else:
        binary = path.open("rb")
    return _io.TextIOWrapper(binary, encoding=encoding, newline="")


def _split(line: str, delimiter: str) -> list[str]:
    if len(delimiter) == 1:
        return next(csv.reader([line], delimiter=delimiter), [])
    return line.split(delimiter)


def _csv_header(path: Path, options: _Options) -> _Header:
    """Where a CSV's header is (lines counted as Arrow and pandas skip them), and its names."""
    lines = []
    with _open_text(path, options.encoding) as text:
        for _ in range(HEADER_SEARCH_ROWS):
            line = text.readline()
            if not line:
                break
            lines.append(line.rstrip("\r\n"))
    rows = [_split(line, options.delimiter) if line.strip() else [] for line in lines]
    if not any(rows):
        raise pd.errors.EmptyDataError("no header")
    at = _find_header(rows, options, path)
    return _Header(at, _count_above(rows, at), header_names(rows[at], path, at))


def _read_csv(path: Path, options: _Options) -> tuple[_Header, pa.Table]:
    """Arrow's reader when it can take the file as it is, else pandas' (other encodings,
    multi-character delimiters, ragged rows...), which reads it or says why not."""
    header = _csv_header(path, options)
    fast = _read_csv_arrow(path, options, header)
    if fast is not None:
        return header, fast
    frame = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        encoding=options.encoding,
        sep=options.delimiter,
        skipinitialspace=True,
        skiprows=header.skip,
        header=0,
    )
    if len(frame.columns) == len(header.names):
        frame.columns = header.names
    return header, text_table(frame)


def _read_parquet(path: Path, options: _Options) -> tuple[_Header, pa.Table]:
    frame = pd.read_parquet(path).astype("string")
    names = header_names(list(frame.columns), path, 0)
    frame.columns = names
    return _Header(0, 0, names), text_table(frame)


def _read_workbook(path: Path, options: _Options) -> tuple[_Header, pa.Table]:
    sheet = _workbook_sheet(path, options.sheet, options.keys.sheet, options.keys.format)
    rows = sheet.head(HEADER_SEARCH_ROWS).to_numpy().tolist()
    at = _find_header(rows, options, path)
    names = header_names(rows[at], path, at)
    data = sheet.iloc[at + 1 :].reset_index(drop=True)
    data.columns = names
    return _Header(at, _count_above(rows, at), names), text_table(data)


_READERS: dict[str, Callable[[Path, _Options], tuple[_Header, pa.Table]]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "xlsx": _read_workbook,
    "xls": _read_workbook,
}


def _csv_arrow_options(path: Path, options: _Options, header: _Header | None = None):
    """Arrow's CSV (header, read, parse, convert) options for a UTF-8 export, every column as
    text, the header's rows skipped and its names given; None when Arrow cannot take it as it is
    (other encodings, multi-character delimiters, an archive Arrow cannot open): pandas' reader
    then reads it, or words the error."""
    if (
        options.encoding.lower() not in UTF8_NAMES
        or len(options.delimiter) != 1
        or _compression(path) in ("zip", "xz")
    ):
        return None
    header = header or _csv_header(path, options)
    read = pa_csv.ReadOptions(skip_rows=header.skip + 1, column_names=header.names)
    parse = pa_csv.ParseOptions(delimiter=options.delimiter, newlines_in_values=True)
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in header.names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    return header, read, parse, convert


def _read_csv_arrow(path: Path, options: _Options, header: _Header) -> pa.Table | None:
    """A UTF-8 CSV read columnar by Arrow (4-5x faster than pandas' reader), or None."""
    arrow = _csv_arrow_options(path, options, header)
    if arrow is None:
        return None
    _, read, parse, convert = arrow
    try:
        return pa_csv.read_csv(
            path,
            # large blocks: few chunks make later column work (take, combine) cheaper
            read_options=pa_csv.ReadOptions(
                block_size=CSV_BLOCK_BYTES,
                skip_rows=read.skip_rows,
                column_names=read.column_names,
            ),
            parse_options=parse,
            convert_options=convert,
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None


def _workbook_sheet(
    path: Path, sheet: str | int | None, sheet_key: str, format_key: str
) -> pd.DataFrame:
    """One sheet of an .xlsx/.xls workbook as rows of text cells (dates as ISO text), the header
    among them: row 0 is the sheet's first row."""
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
        table = pd.read_excel(
            book, wanted, header=None, dtype=str, keep_default_na=False, na_filter=False
        )
    if table.columns.empty:
        name = names[wanted] if isinstance(wanted, int) else wanted
        raise InputError(
            f"Sheet {name!r} of {path} is empty: put a header row and data rows on "
            f"it, or set `{sheet_key}`."
        )
    return table


# --- tables as text ----------------------------------------------------------------------------


def text_table(raw: pd.DataFrame | pa.Table) -> pa.Table:
    """A user's table as Arrow `string` columns: as it is when every column is that already (as
    Arrow's CSV reader gives it), else each column as pandas writes it as text."""
    if isinstance(raw, pa.Table):
        if all(t == pa.string() for t in raw.schema.types):
            return raw
        sources = sources_of(raw)
        table = text_table(raw.to_pandas())
        return sources.attach(table) if sources else table
    return pa.table({str(c): text_array(raw[c]) for c in raw.columns})


def text_array(text: pd.Series) -> pa.Array:
    """A column as one Arrow `string` array, as pandas writes its values as text."""
    array = pa.array(text.astype("string"), type=pa.string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def columns_frame(columns: dict) -> pd.DataFrame:
    """Arrow text and numpy columns as one DataFrame, in order; text becomes pandas' Arrow-backed
    `str` without a copy."""
    arrow = (pa.Array, pa.ChunkedArray)
    text = pa.table({n: v for n, v in columns.items() if isinstance(v, arrow)}).to_pandas()
    return pd.DataFrame({n: text[n] if n in text else v for n, v in columns.items()}, copy=False)
