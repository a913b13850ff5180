"""Parsing the user's text: amounts and numbers, timestamps (formats, zones, epochs, Excel days),
customer ids; the columnar fast paths give pandas' answers at every edge."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from segml.data import parse as p
from segml.data.parse import parse_amount, parse_timestamp
from segml.errors import ContractError


@pytest.fixture()
def dcfg(cfg):
    return cfg.data


# --- amounts and numbers ---------------------------------------------------------------------


def test_amount_formats(dcfg):
    parsed = parse_amount(pd.Series(["¥1,234.50", " 99 ", "-5", "RMB 10", "abc"]), dcfg)
    assert parsed.iloc[:4].tolist() == [1234.5, 99.0, -5.0, 10.0] and pd.isna(parsed.iloc[4])


def test_numbers_parse_like_pandas_except_infinity(dcfg):
    text = pd.Series(["1", "-2.5", "+3", "1.", ".5", "1e3", " 4 ", "abc", "", "1.2.3", "inf"])
    parsed = parse_amount(text, dataclasses.replace(dcfg, currency_symbols=[]))
    expected = pd.to_numeric(text.str.strip(), errors="coerce").astype(float)
    assert parsed.iloc[:-1].equals(expected.iloc[:-1]) and pd.isna(parsed.iloc[-1])


@pytest.mark.parametrize(
    "separators",
    [dict(thousands_separator=",", decimal="."), dict(thousands_separator=".", decimal=",")],
)
def test_bare_numbers_cast_at_once_match_cleaning_every_row(dcfg, separators):
    cfg = dataclasses.replace(dcfg, **separators)
    text = pa.array(
        ["12", "-3.5", "+4", "1.", ".5", "1e3", "1.234", "1,5", " 7 ", "¥1,234.50", "$ 99",
         "1.234,50", "inf", "1.2.3", "", "abc", None] * 2,
        type=pa.string(),
    )  # fmt: skip
    cleaned_everywhere = p.parse_numbers(p._cleaned_amounts(text, cfg))
    np.testing.assert_array_equal(p.parse_amounts(text, cfg), cleaned_everywhere)


@pytest.mark.parametrize(
    "text",
    [
        "(96.63)",  # the accountant's parentheses
        "96.63-",  # a trailing minus (SAP, some ERPs)
        "¥-96.63",  # a minus after the currency symbol
        "-¥96.63",
        "(¥96.63)",
        "¥(96.63)",
        "\u221296.63",  # the Unicode minus a word processor makes
        "\u201396.63",  # an en dash typed as a minus
        "（９６．６３）",  # full-width, from a Chinese input method
        "－９６．６３",
        "￥-96.63",
        " ( 96.63 ) ",
        "-96.63",
    ],
)
def test_negative_amounts_as_people_write_them(dcfg, text):
    assert parse_amount(pd.Series([text]), dcfg).tolist() == [-96.63]


def test_negative_styles_are_configurable_and_nothing_ambiguous_is_read(dcfg):
    text = pd.Series(["(96.63)", "96.63-", "1,234.50-", "(-5)", "--5", "5--", "(5", "5)", "1-2"])
    parsed = parse_amount(text, dcfg)
    assert parsed.iloc[:3].tolist() == [-96.63, -96.63, -1234.5] and parsed.iloc[3:].isna().all()
    plain = parse_amount(text.iloc[:2], dataclasses.replace(dcfg, negatives=[]))
    assert plain.isna().all()  # styles switched off: those rows are unparseable, not positive


def test_full_width_digits_in_amounts_and_quantities(dcfg):
    assert parse_amount(pd.Series(["１，２３４．５０", "￥８８"]), dcfg).tolist() == [1234.5, 88.0]
    quantities = p.parse_optional(
        "quantity", pa.chunked_array([["２", "(1)", "3-", "x"]]), ["parentheses", "trailing_minus"]
    )
    assert quantities[:3].tolist() == [2.0, -1.0, -3.0] and np.isnan(quantities[3])


# --- timestamps ------------------------------------------------------------------------------


def test_time_zoned_stamps_become_local_time(dcfg):
    parsed = parse_timestamp(
        pd.Series(
            [
                "2024-01-01T00:30:00+00:00",
                "2024-01-01 12:00:00+08:00",
                "2024-01-01 12:00:00+08",  # an hour-only offset
                "2024-01-01 12:00:00",  # local already
            ]
        ),
        dcfg,
    )
    assert list(parsed) == [
        pd.Timestamp("2024-01-01 08:30"),
        *[pd.Timestamp("2024-01-01 12:00")] * 3,
    ]


def test_day_first_dashed_dates_are_not_mistaken_for_offsets(dcfg):
    dayfirst = dataclasses.replace(dcfg, timestamp_format="%d-%m-%Y", dayfirst=True)
    assert list(parse_timestamp(pd.Series(["31-12-2024"]), dayfirst)) == [
        pd.Timestamp("2024-12-31")
    ]


def test_unusable_timestamp_pattern_is_a_clear_config_error(dcfg):
    with pytest.raises(ContractError) as error:
        parse_timestamp(
            pd.Series(["2024-05-01"]), dataclasses.replace(dcfg, timestamp_format="%Q-%m")
        )
    assert "data.timestamp_format" in str(error.value) and "epoch_s" in str(error.value)


def test_chinese_date_pattern(dcfg):
    data = dataclasses.replace(dcfg, timestamp_format="%Y年%m月%d日")
    assert parse_timestamp(pd.Series(["2024年5月1日"]), data).tolist() == [
        pd.Timestamp("2024-05-01")
    ]


# stamps near every edge of the fast path: impossible days, leap days, clock limits, the years
# it covers, fractions, separators, padding, zones, other orders
EDGE_STAMPS = [
    "2024-05-01 10:00:00", "2024-05-01T10:00:00", "2024-05-01 10:00", "2024-05-01",
    "2024-05-01 10:00:00.5", "2024-05-01 10:00:00.123456789", "2024-02-29 12:00:00",
    "2023-02-29 12:00:00", "2024-02-30 12:00:00", "2024-04-31 12:00:00", "2024-04-30 12:00:00",
    "2024-12-31 23:59:59", "2024-01-01 24:00:00", "2024-01-01 23:60:00", "2024-01-01 23:59:60",
    "2024-13-01 10:00:00", "2024-00-10 10:00:00", "2024-01-00 10:00:00", "1900-01-01 00:00:00",
    "1899-12-31 23:59:59", "2099-12-31 23:59:59", "2100-01-01 00:00:00", " 2024-05-01 10:00:00",
    "2024-05-01 10:00:00 ", "2024-05-01 10:00:00+02:00", "2024-05-01T10:00:00Z",
    "01/05/2024 10:00", "2024/05/01", "2024-5-1 8:03:05", "not recorded", "", None,
]  # fmt: skip


@pytest.mark.parametrize("dayfirst", [False, True])
def test_fast_timestamp_cast_parses_as_pandas_does(dcfg, dayfirst):
    cfg = dataclasses.replace(dcfg, dayfirst=dayfirst)
    text = pa.array(EDGE_STAMPS * 3, type=pa.string())  # mixed, so both paths run
    fast = p.parse_timestamps(text, cfg)
    assert p._matches(text, p._ISO_LOCAL).sum() >= 10  # the fast path took part
    np.testing.assert_array_equal(fast, p._parsed_by_pandas(text, cfg))


def test_odd_stamps_among_plain_ones_parse_as_the_whole_column_did(dcfg):
    """pandas sees only the stamps the fast path leaves; with no ISO stamp among them its first
    pass is in seconds, and the retry's fractions must still fit."""
    text = pa.array(
        ["2024-05-01 10:00:00", "05/03/2024 10:00:00.250", "May 1 2024 10:00:00.5", "x"]
    )
    parsed = p.parse_timestamps(text, dcfg)
    np.testing.assert_array_equal(parsed, p._parsed_by_pandas(text, dcfg))
    assert str(parsed[1]) == "2024-05-03T10:00:00.250000000"


# --- numeric timestamps ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "stamps"),
    [
        ("epoch_s", ["1714550400", "1714557600.5"]),
        ("%s", ["1714550400", "1714557600.5"]),  # strftime's own code for epoch seconds
        ("epoch_ms", ["1714550400000", "1714557600500"]),
    ],
)
def test_epoch_stamps_are_instants_shown_in_the_configured_zone(dcfg, fmt, stamps):
    data = dataclasses.replace(dcfg, timestamp_format=fmt, timezone="Asia/Shanghai")
    parsed = parse_timestamp(pd.Series([*stamps, "yesterday", ""]), data)
    # 1714550400 s is 2024-05-01 08:00 UTC, 16:00 in Shanghai
    assert parsed.iloc[:2].tolist() == [
        pd.Timestamp("2024-05-01 16:00"),
        pd.Timestamp("2024-05-01 18:00:00.5"),
    ]
    assert parsed.iloc[2:].isna().all()


def test_excel_serial_days_are_local_dates(dcfg):
    data = dataclasses.replace(dcfg, timestamp_format="excel")
    parsed = parse_timestamp(pd.Series(["45413.5", "45413", "45413.000011574", "-1", "n/a"]), data)
    assert parsed.iloc[:3].tolist() == [
        pd.Timestamp("2024-05-01 12:00"),
        pd.Timestamp("2024-05-01"),
        pd.Timestamp("2024-05-01 00:00:01"),
    ]
    assert parsed.iloc[3:].isna().all()


# --- customer ids ----------------------------------------------------------------------------


def test_customer_codes_follow_stripped_ids_in_id_order():
    text = pa.chunked_array(
        [["b", " a", "a ", "\u3000a"], ["", None, "  ", "客户", "10", "9", "b"]], type=pa.string()
    )
    found = p.customer_codes(text)
    ids, codes = found.ids, found.codes
    assert ids.to_pylist() == ["10", "9", "a", "b", "客户"]
    assert codes.tolist() == [3, 2, 2, 2, -1, -1, -1, 4, 0, 1, 3]


def test_ids_a_spreadsheet_damaged_are_repaired_when_exact_and_flagged_when_not():
    text = pa.chunked_array(
        [
            [
                "1234567",
                "1234567.0",  # a float tail: the same whole number, repaired
                "１２３４５６７",  # full-width digits: the same id
                "\u00a01234567\u200b",  # a non-breaking space and a zero-width space around it
                "1.23457E+11",  # scientific notation: digits are lost, never repaired
                "1.2e+05",
                "C1E5",  # an id that merely contains an E stays an id
                "12.5",  # not a whole number: left as it is
            ]
        ]
    )
    found = p.customer_codes(text)
    assert found.ids.to_pylist() == ["12.5", "1234567", "C1E5"]  # in id (text) order
    assert found.codes.tolist() == [1, 1, 1, 1, -1, -1, 2, 0]
    assert found.damaged.tolist() == [False] * 4 + [True, True, False, False]
    assert found.repaired == {"float_tail": 1, "spaces_or_full_width": 2}


def test_ids_in_two_letter_cases_are_counted_and_merged_to_the_first_spelling():
    transactions = pa.array(["C00012", "c00012", "C00013", "ab", "AB", "Ab"])
    customers = pa.array(["c00013", "D1"])
    assert p.case_variants(transactions, customers) == 3  # C00012, C00013 and ab
    merged = p.case_merged(transactions, customers)
    found = p.customer_codes(pa.chunked_array([transactions]), merged)
    assert found.ids.to_pylist() == ["AB", "C00012", "C00013"]
    assert p.respelled(customers, merged).to_pylist() == ["C00013", "D1"]
