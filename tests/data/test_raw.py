"""Reading users' files: missing and empty files, encodings, delimiters, workbooks, per-file
encodings and formats, each with a clear message naming the file and the config key when it
cannot be read."""

from __future__ import annotations

import dataclasses
import struct

import openpyxl
import pandas as pd
import pytest

from segml.data import files, raw
from segml.data.validate import prepare
from segml.errors import ContractError, InputError

HEADERS = {"customer_id": "客户编号", "ts": "交易时间", "amount": "金额"}


@pytest.fixture()
def dcfg(cfg):
    return dataclasses.replace(cfg.data, columns=dict(HEADERS))


def read(path, data, customers=False, key="paths.raw_transactions"):
    return raw.read_raw_table(path, config_key=key, **data.read_options(customers=customers))


# --- empty and header-only files ------------------------------------------------------------


def test_empty_file_says_it_is_empty_not_a_format_problem(tmp_path, dcfg):
    path = tmp_path / "transactions.csv"
    path.write_bytes(b"")
    with pytest.raises(InputError) as error:
        read(path, dcfg)
    message = str(error.value)
    assert str(path) in message and "is empty (0 bytes)" in message
    assert "paths.raw_transactions" in message
    assert "data.format" not in message and "No columns to parse" not in message


def test_blank_lines_only_file_says_there_is_no_header(tmp_path, dcfg):
    path = tmp_path / "transactions.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="no header row and no data"):
        read(path, dcfg)


def test_header_only_file_names_the_file_and_says_no_data_rows(tmp_path, dcfg):
    path = tmp_path / "transactions.csv"
    path.write_text("客户编号,交易时间,金额\n", encoding="utf-8-sig")
    frame = read(path, dcfg)
    with pytest.raises(ContractError) as error:
        prepare(frame, None, dcfg, transactions_source=str(path))
    message = str(error.value)
    assert str(path) in message and "has a header but no data rows" in message
    assert "paths.raw_transactions" in message


# --- formats ---------------------------------------------------------------------------------


def test_unsupported_format_is_named_with_the_choices(tmp_path, dcfg):
    path = tmp_path / "transactions.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read(path, dataclasses.replace(dcfg, format="json"))
    message = str(error.value)
    assert "Unsupported format 'json'" in message and "data.format" in message
    assert "csv, parquet, xlsx, xls" in message


def write_xlsx(path, sheets: dict[str, list[list]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)


ORDERS = [
    ["客户编号", "交易时间", "金额", "备注"],
    ["007", pd.Timestamp("2024-05-01 10:00").to_pydatetime(), 12.5, "首单"],
    ["0008", "2024-05-02 11:30:00", -3, None],
]
CUSTOMERS = [["客户编号", "地区"], ["007", "华东"], ["0008", "华北"]]
REGIONS = {"007": "华东", "0008": "华北"}


def test_xlsx_is_read_by_config_with_ids_as_text_and_sheets_by_name(tmp_path, dcfg):
    path = tmp_path / "export.xlsx"
    write_xlsx(path, {"说明": [["本文件由 CRM 导出"]], "订单": ORDERS, "客户": CUSTOMERS})
    data = dataclasses.replace(
        dcfg,
        format="xlsx",
        sheet="订单",
        customers_sheet="客户",
        customer_columns={"customer_id": "客户编号", "region": "地区"},
    )
    result = prepare(read(path, data), read(path, data, customers=True), data)
    tx = result.transactions
    assert tx["customer_id"].tolist() == ["0008", "007"]  # leading zeros kept, sorted as text
    assert tx["ts"].tolist() == [pd.Timestamp("2024-05-02 11:30"), pd.Timestamp("2024-05-01 10:00")]
    assert tx["amount"].tolist() == [-3.0, 12.5]
    assert result.customers.set_index("customer_id")["region"].to_dict() == REGIONS


def test_missing_sheet_lists_the_sheets_and_the_key(tmp_path, dcfg):
    path = tmp_path / "export.xlsx"
    write_xlsx(path, {"订单": ORDERS})
    with pytest.raises(InputError) as error:
        read(path, dataclasses.replace(dcfg, format="xlsx", customers_sheet="客户"), customers=True)
    message = str(error.value)
    assert (
        "no sheet '客户'" in message and "['订单']" in message and "data.customers_sheet" in message
    )


def test_workbook_read_as_csv_says_to_set_the_format(tmp_path, dcfg):
    path = tmp_path / "transactions.csv"  # really a workbook saved under a .csv name
    write_xlsx(path, {"订单": ORDERS})
    with pytest.raises(InputError) as error:
        read(path, dcfg)
    assert "is an Excel workbook (xlsx), not CSV" in str(error.value)
    assert "data.format: xlsx" in str(error.value)


def test_text_file_read_as_xlsx_says_to_check_the_format(tmp_path, dcfg):
    path = tmp_path / "transactions.xlsx"
    path.write_text("客户编号,交易时间,金额\n1,2024-01-01,5\n", encoding="utf-8")
    with pytest.raises(InputError, match="check `data.format`"):
        read(path, dataclasses.replace(dcfg, format="xlsx"))


def _biff8_workbook(sheets: dict[str, list[list]]) -> bytes:
    """A minimal legacy .xls (BIFF8 records in an OLE2 compound file): text and number cells.
    Nothing in the test environment writes .xls any more, so the test builds one itself."""

    def record(rid: int, data: bytes = b"") -> bytes:
        return struct.pack("<HH", rid, len(data)) + data

    def text(value: str, width: int) -> bytes:
        return len(value).to_bytes(width, "little") + b"\x01" + value.encode("utf-16-le")

    def bof(kind: int) -> bytes:
        return record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0, 1997, 0, 6))

    bodies = []
    for rows in sheets.values():
        cells = b"".join(
            record(0x0204, struct.pack("<HHH", r, c, 0) + text(v, 2))
            if isinstance(v, str)
            else record(0x0203, struct.pack("<HHHd", r, c, 0, v))
            for r, row in enumerate(rows)
            for c, v in enumerate(row)
        )
        bodies.append(bof(0x0010) + cells + record(0x000A))
    offset = len(bof(0x0005)) + sum(10 + len(text(n, 1)) for n in sheets) + 4
    stream = bof(0x0005)
    for name, body in zip(sheets, bodies):
        stream += record(0x0085, struct.pack("<IBB", offset, 0, 0) + text(name, 1))
        offset += len(body)
    stream += record(0x000A) + b"".join(bodies)
    # OLE2 container: header, the stream (>= 4096 bytes, so no mini stream), directory, FAT
    stream = stream.ljust(max(4096, -(-len(stream) // 512) * 512), b"\x00")
    n = len(stream) // 512
    fat = [*range(1, n), 0xFFFFFFFE, 0xFFFFFFFE, 0xFFFFFFFD]
    fat += [0xFFFFFFFF] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        no_sibling = 0xFFFFFFFF
        return (
            raw.ljust(64, b"\x00")
            + struct.pack("<HBBIII", len(raw), kind, 1, no_sibling, no_sibling, child)
            + b"\x00" * 36
            + struct.pack("<IQ", start, size)
        )

    directory = (
        entry("Root Entry", 5, 1, 0xFFFFFFFE, 0)
        + entry("Workbook", 2, 0xFFFFFFFF, 0, len(stream))
        + entry("", 0, 0xFFFFFFFF, 0, 0) * 2
    )
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<9I", 0, 1, n, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
        + struct.pack("<I", n + 1)
        + b"\xff" * 4 * 108
    )
    return header + stream + directory + struct.pack("<128I", *fat)


def test_legacy_xls_is_read_by_config(tmp_path, dcfg):
    path = tmp_path / "export.xls"
    rows = [
        ["客户编号", "交易时间", "金额"],
        ["007", "2024-05-01 10:00", 12.5],
        ["0008", "2024-05-02", -3.0],
    ]
    path.write_bytes(_biff8_workbook({"订单": rows}))
    data = dataclasses.replace(dcfg, format="xls")
    tx = prepare(read(path, data), None, data).transactions
    assert tx["customer_id"].tolist() == ["0008", "007"]
    assert tx["amount"].tolist() == [-3.0, 12.5]


def test_each_file_has_its_own_encoding_and_format(tmp_path, dcfg):
    """A GBK transactions CSV beside a UTF-8 customer CSV, or beside a customer workbook; with no
    customer settings the customer file is read like the transactions file (the old behaviour)."""
    tx_path = tmp_path / "tx.csv"
    tx_path.write_bytes("客户编号,交易时间,金额\n007,2024-05-01,10\n".encode("gbk"))
    utf8_customers, workbook = tmp_path / "customers.csv", tmp_path / "customers.xlsx"
    utf8_customers.write_text("客户编号,地区\n007,华东\n0008,华北\n", encoding="utf-8")
    write_xlsx(workbook, {"客户": CUSTOMERS})
    mapping = {"customer_id": "客户编号", "region": "地区"}
    for customers_path, setting in (
        (utf8_customers, {"customers_encoding": "utf-8"}),
        (workbook, {"customers_format": "xlsx"}),
    ):
        data = dataclasses.replace(dcfg, encoding="gbk", customer_columns=mapping, **setting)
        result = prepare(read(tx_path, data), read(customers_path, data, customers=True), data)
        assert result.customers.set_index("customer_id")["region"].to_dict() == REGIONS
        assert result.transactions["customer_id"].tolist() == ["007"]

    same = dataclasses.replace(dcfg, encoding="gbk")
    assert same.read_options(customers=True)["encoding"] == "gbk"
    assert same.read_options(customers=True)["fmt"] == same.format


def test_customer_file_encoding_error_names_the_customer_key(tmp_path, dcfg):
    path = tmp_path / "customers.csv"
    path.write_bytes("客户编号,地区\n007,华东\n".encode("gbk"))
    data = dataclasses.replace(dcfg, encoding="gbk", customers_encoding="utf-8")
    with pytest.raises(InputError) as error:
        read(path, data, customers=True, key="paths.raw_customers")
    assert "data.customers_encoding" in str(error.value) and str(path) in str(error.value)


# --- files as configured: missing, encodings, delimiters, parquet ----------------------------


def test_missing_input_file_names_the_config_key(tmp_path):
    with pytest.raises(InputError) as error:
        raw.read_raw_table(tmp_path / "nope.csv", "csv", "utf-8", ",", "paths.raw_transactions")
    assert "nope.csv" in str(error.value) and "paths.raw_transactions" in str(error.value)


def test_wrong_encoding_says_what_to_set(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes("客户编号,金额\n张三,1\n".encode("gbk"))
    with pytest.raises(InputError, match="data.encoding"):
        raw.read_raw_table(path, "csv", "utf-8", ",", "paths.raw_transactions")


def test_gbk_semicolon_day_first_export(tmp_path, dcfg):
    path = tmp_path / "export.csv"
    path.write_bytes("客户编号;交易时间;金额\n0042;31/01/2024 09:30;￥1.234,50\n".encode("gbk"))
    frame = raw.read_raw_table(path, "csv", "gbk", ";", "paths.raw_transactions")
    eu = dataclasses.replace(
        dcfg, dayfirst=True, timestamp_format="%d/%m/%Y %H:%M", thousands_separator=".", decimal=","
    )
    result = prepare(frame, None, eu)
    row = result.transactions.iloc[0]
    assert (row["customer_id"], row["ts"], row["amount"]) == (
        "0042",
        pd.Timestamp("2024-01-31 09:30"),
        1234.5,
    )


def test_parquet_input_with_native_types(tmp_path, dcfg):
    path = tmp_path / "export.parquet"
    pd.DataFrame(
        {
            "客户编号": ["0007", "0008"],
            "交易时间": pd.to_datetime(["2024-05-01 10:00", "2024-05-02 11:30"]),
            "金额": [12.5, -3.0],
        }
    ).to_parquet(path)
    frame = raw.read_raw_table(path, "parquet", "utf-8", ",", "paths.raw_transactions")
    result = prepare(frame, None, dcfg)
    assert result.transactions["customer_id"].tolist() == ["0007", "0008"]
    assert result.transactions["ts"].tolist() == [
        pd.Timestamp("2024-05-01 10:00"),
        pd.Timestamp("2024-05-02 11:30"),
    ]
    assert result.transactions["amount"].tolist() == [12.5, -3.0]


def test_arrow_csv_read_equals_pandas_reader(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_text(
        '\ufeff客户编号,交易时间,金额,备注\n007,2024-05-01,"1,234.50","两行\n备注"\n,, ,\n',
        encoding="utf-8",
    )
    options = raw._Options("utf-8-sig", ",", None, "auto", (), raw._Keys("paths.raw_transactions"))
    header = raw._csv_header(path, options)
    assert raw._read_csv_arrow(path, options, header) is not None  # the Arrow path reads it
    fast = raw.read_raw_table(path, "csv", "utf-8-sig", ",", "paths.raw_transactions").to_pandas()
    slow = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert fast.equals(slow) and fast["客户编号"].tolist() == ["007", ""]


# --- folders and patterns of files ------------------------------------------------------------

TX_HEADER = "客户编号,交易时间,金额\n"


def _monthly_folder(folder):
    """Three months as teams receive them (a CSV, a gzipped CSV, a workbook) beside the files
    Windows, Excel and macOS leave in a folder."""
    import gzip

    folder.mkdir()
    (folder / "orders_2024-01.csv").write_text(
        TX_HEADER + "007,2024-01-05,10\n008,2024-01-06,oops\n", encoding="utf-8-sig"
    )
    (folder / "orders_2024-02.csv.gz").write_bytes(
        gzip.compress((TX_HEADER + "007,2024-02-05,20\n,2024-02-06,5\n").encode("utf-8-sig"))
    )
    write_xlsx(
        folder / "orders_2024-03.xlsx",
        {"订单": [["客户编号", "交易时间", "金额"], ["009", "2024-03-01", "bad"]]},
    )
    (folder / "desktop.ini").write_text("[.ShellClassInfo]\n", encoding="utf-8")
    (folder / "~$orders_2024-03.xlsx").write_bytes(b"\x00lock")
    (folder / ".DS_Store").write_bytes(b"\x00")
    (folder / "说明.docx").write_bytes(b"PK\x03\x04")
    return folder


def test_a_folder_of_monthly_files_is_one_input_and_rejected_rows_keep_file_and_row(tmp_path, dcfg):
    folder = _monthly_folder(tmp_path / "orders")
    tx, _ = raw.read_raw_inputs(folder, None, dataclasses.replace(dcfg, encoding="utf-8-sig"))
    result = prepare(tx, None, dcfg, transactions_source=str(folder))
    assert result.transactions["amount"].tolist() == [10.0, 20.0]
    where = result.rejected.set_index("source_file")["source_row"].to_dict()
    assert where == {
        str(folder / "orders_2024-01.csv"): 2,  # unparseable amount, row 2 of January
        str(folder / "orders_2024-02.csv.gz"): 2,  # no customer id
        str(folder / "orders_2024-03.xlsx"): 1,
    }
    q = result.quality
    assert q["input_files"] == 3 and q["rows_read"] == 5 == q["rows_clean"] + q["rows_rejected"]
    assert sorted(q["ignored_files"]) == [
        ".DS_Store",
        "desktop.ini",
        "~$orders_2024-03.xlsx",
        "说明.docx",
    ]
    assert any("desktop.ini" in note for note in result.quality["notes"])


def test_a_glob_reads_the_files_it_matches(tmp_path, dcfg):
    folder = _monthly_folder(tmp_path / "orders")
    tx = read(folder / "orders_2024-0[12].csv*", dataclasses.replace(dcfg, encoding="utf-8-sig"))
    assert tx.num_rows == 4 and files.sources_of(tx).names[1].endswith("orders_2024-02.csv.gz")


def test_a_file_whose_columns_differ_stops_naming_it_and_the_columns(tmp_path, dcfg):
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "a.csv").write_text(TX_HEADER + "1,2024-01-01,5\n", encoding="utf-8")
    (folder / "b.csv").write_text("金额,客户编号,交易时间\n5,2,2024-01-02\n", encoding="utf-8")
    assert read(folder, dcfg).column_names == ["客户编号", "交易时间", "金额"]  # order may differ
    (folder / "c.csv").write_text("客户编号,日期,金额,备注\n1,2024-01-01,5,x\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read(folder, dcfg)
    message = str(error.value)
    assert str(folder / "c.csv") in message and "['日期', '备注']" in message
    assert "['交易时间']" in message


def test_a_folder_without_an_export_or_a_pattern_matching_nothing_says_so(tmp_path, dcfg):
    folder = tmp_path / "orders"
    folder.mkdir()
    (folder / "desktop.ini").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="No data file in .*desktop.ini: a system file"):
        read(folder, dcfg)
    with pytest.raises(InputError, match="No file matches .*paths.raw_transactions"):
        read(tmp_path / "nothing_*.csv", dcfg)


# --- header rows, title lines, duplicate names ---------------------------------------------------

ERP = (
    "2024年销售明细表\n"
    "导出时间：2024-05-01 10:00:00,,\n"
    "\n"
    "客户编号,交易时间,金额\n"
    "007,2024-04-01,10\n"
    "008,2024-04-02,20\n"
)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])  # Arrow's reader, then pandas'
def test_title_lines_above_the_header_are_skipped_and_counted(tmp_path, dcfg, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(ERP.encode(encoding))
    table = read(path, dataclasses.replace(dcfg, encoding=encoding))
    assert table.column_names == ["客户编号", "交易时间", "金额"] and table.num_rows == 2
    assert files.sources_of(table).above_header == (2,)  # the blank line is not a title
    result = prepare(table, None, dcfg)
    assert result.quality["skipped_by_kind"] == {"lines_above_header": 2}
    assert result.quality["rows_read"] == 4 == result.quality["rows_clean"] + 2


def test_a_workbook_with_a_title_row_and_the_header_row_set_by_number(tmp_path, dcfg):
    path = tmp_path / "export.xlsx"
    rows = [["销售明细"], [], ["客户编号", "交易时间", "金额"], ["007", "2024-04-01", 10]]
    write_xlsx(path, {"订单": rows})
    book = dataclasses.replace(dcfg, format="xlsx")
    assert read(path, book).to_pydict() == {
        "客户编号": ["007"],
        "交易时间": ["2024-04-01"],
        "金额": ["10"],
    }
    assert read(path, dataclasses.replace(book, header_row=2)).num_rows == 1
    with pytest.raises(InputError, match="`data.header_row` is 9, but the file has 4 row"):
        read(path, dataclasses.replace(book, header_row=9))


def test_without_the_mapped_names_the_header_is_the_first_row_and_the_message_says_so(
    tmp_path, dcfg
):
    path = tmp_path / "export.csv"
    path.write_text("Report\nid,when,how much\n1,2024-01-01,5\n", encoding="utf-8")
    with pytest.raises(ContractError) as error:
        prepare(read(path, dcfg), None, dcfg)
    assert "data.columns.customer_id" in str(error.value) and "data.header_row" in str(error.value)


@pytest.mark.parametrize(
    "header",
    [
        "客户编号,交易时间,金额,金额",
        "客户编号,交易时间,金额, 金额 ",
        "客户编号,交易时间,金额,\ufeff金额",
    ],
)
def test_a_column_named_twice_stops_naming_it(tmp_path, dcfg, header):
    path = tmp_path / "export.csv"
    path.write_text(header + "\n1,2024-01-01,5,6\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read(path, dcfg)
    message = str(error.value)
    assert "'金额' in columns [3, 4]" in message and str(path) in message


def test_a_workbook_column_named_twice_stops_too_but_blank_headers_do_not(tmp_path, dcfg):
    path = tmp_path / "export.xlsx"
    write_xlsx(
        path, {"订单": [["客户编号", "交易时间", "金额", "客户编号"], ["1", "2024-01-01", 5, "2"]]}
    )
    with pytest.raises(InputError, match="'客户编号' in columns \\[1, 4\\]"):
        read(path, dataclasses.replace(dcfg, format="xlsx"))
    blank = tmp_path / "blank.csv"  # trailing commas: Excel's empty columns
    blank.write_text(TX_HEADER.strip() + ",,\n1,2024-01-01,5,,\n", encoding="utf-8")
    assert read(blank, dcfg).column_names == [
        "客户编号",
        "交易时间",
        "金额",
        "Unnamed: 3",
        "Unnamed: 4",
    ]


def test_an_input_outside_the_folder_dvc_watches_is_named(tmp_path, cfg):
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(TX_HEADER, encoding="utf-8")
    paths = dataclasses.replace(
        cfg.paths, raw_dir=str(tmp_path / "raw"), raw_transactions=str(outside), raw_customers=None
    )
    (note,) = files.untracked_notes(paths)
    assert "outside paths.raw_dir" in note and "does not rerun prepare" in note
    inside = dataclasses.replace(paths, raw_dir=str(tmp_path))
    assert files.untracked_notes(inside) == []
