"""Reading the user's raw input: their exports, every column as text, or a message saying why not.

Nothing is reinterpreted here (ids keep their leading zeros, unparseable values survive to be
rejected with a reason by `segml.data.validate`). A file is read in three steps, each its own
function so a new habit of the users' exports has one place to go: the checks any file must pass
(`_check_file`), a reader per format (`_READERS`: CSV through Arrow with a pandas fallback for other
encodings and delimiters, workbooks through calamine, parquet), and the reader's errors worded
with the config key to set (`_worded`). Big CSV files stream in batches (`raw_table_batches`).
The project's own files are `segml.data.io`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from segml.errors import InputError

RAW_FORMATS = ("csv", "parquet", "xlsx", "xls")
# first bytes of workbook files: a zip container (xlsx) or an OLE2 compound file (xls)
_WORKBOOK_MAGIC = {b"PK\x03\x04": "xlsx", b"\xd0\xcf\x11\xe0": "xls"}


CSV_BLOCK_BYTES = 32 << 20
UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}


class _Keys(NamedTuple):
    """The config keys (or command-line options) a message about one file advises setting."""

    path: str
    encoding: str = "data.encoding"
    format: str = "data.format"
    sheet: str = "data.sheet"


# --- the user's files ----------------------------------------------------------------------


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
    keys = _Keys(config_key, encoding_key, format_key, sheet_key)
    _check_file(path, fmt, keys)
    with _worded(path, fmt, encoding, keys):
        return _READERS[fmt](path, encoding, delimiter, sheet, keys)


def raw_table_batches(
    path: str | Path, config_key: str, stream: bool = True, batch_bytes: int = 64 << 20, **options
) -> Iterator[pa.Table]:
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
    if fmt == "csv" and looks_like:
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
    except (pd.errors.ParserError, ValueError, OSError, ImportError) as exc:
        raise InputError(
            f"Cannot read {path} as {fmt}: {exc}. Check `{keys.format}`"
            + (" and `data.delimiter`." if fmt == "csv" else ".")
        ) from exc


# --- one reader per format: (path, encoding, delimiter, sheet, keys) -> text table -------------


def _read_csv(path: Path, encoding: str, delimiter: str, sheet, keys: _Keys) -> pa.Table:
    """Arrow's reader when it can take the file as it is, else pandas' (other encodings,
    multi-character delimiters, repeated headers, ragged rows...), which reads it or says why
    not."""
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


def _read_parquet(path: Path, encoding: str, delimiter: str, sheet, keys: _Keys) -> pa.Table:
    return text_table(pd.read_parquet(path).astype("string"))


def _read_workbook(path: Path, encoding: str, delimiter: str, sheet, keys: _Keys) -> pa.Table:
    return text_table(_workbook_sheet(path, sheet, keys.sheet, keys.format))


_READERS: dict[str, Callable[..., pa.Table]] = {
    "csv": _read_csv,
    "parquet": _read_parquet,
    "xlsx": _read_workbook,
    "xls": _read_workbook,
}


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


def _workbook_sheet(
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


# --- tables as text ----------------------------------------------------------------------------


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
