"""Parsing the user's text into values: amounts and numbers, timestamps, customer ids and labels.

Columnar: Arrow compute and numpy over whole columns. The common shapes (bare numbers, plain ISO
stamps) are cast at once, and only the rest is cleaned first (amounts) or parsed by pandas
(timestamps), with tests proving both paths give pandas' answers. What cannot be parsed becomes
missing (NaN, NaT, None), never an error: `segml.data.validate` rejects those rows with a reason.
One section per kind of value, so a new habit of the users' exports (accountants' negatives,
ids damaged by spreadsheets) is one more step in one place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from segml.config import DataConfig
from segml.data import schema as s
from segml.data.raw import text_array
from segml.errors import ContractError

# --- amounts and numbers ---------------------------------------------------------------------


def parse_amount(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """'¥1,234.50', ' 1 234,50 ', '-99' -> float; anything else -> NaN."""
    return pd.Series(parse_amounts(text_array(text), cfg), index=text.index)


# a plain decimal number (ASCII digits, optional sign, point and exponent); anything else is bad
_NUMBER = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_BARE_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"  # nor white space around it
_NUMBER_CHARACTERS = set("0123456789+-.eE")


def parse_amounts(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """Amounts in Arrow compute (C++; pandas' regex replace loops in Python per row). Most rows
    are bare numbers already: they are cast at once, and only the rest are cleaned first."""
    if not _cleaning_keeps_bare_numbers(cfg):
        return parse_numbers(_cleaned_amounts(text, cfg))
    return parse_numbers(text, clean=lambda rest: _cleaned_amounts(rest, cfg))


def _cleaned_amounts(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> pa.Array:
    """Amount text without currency symbols, white space or thousands separators, with a "."
    for the decimal mark."""
    for symbol in cfg.currency_symbols:
        text = pc.replace_substring(text, symbol, "")
    text = pc.replace_substring_regex(text, r"\s", "")
    if cfg.thousands_separator:
        text = pc.replace_substring(text, cfg.thousands_separator, "")
    if cfg.decimal != ".":
        text = pc.replace_substring(text, cfg.decimal, ".")
    return text


def _cleaning_keeps_bare_numbers(cfg: DataConfig) -> bool:
    """Whether cleaning leaves every bare number as it is: no currency symbol or thousands
    separator could be part of one (a "." separator could), and the decimal mark is "." or not
    in a bare number at all."""

    def could_be_in_a_number(piece: str) -> bool:
        return bool(piece.strip()) and set(piece.strip()) <= _NUMBER_CHARACTERS

    pieces = [*cfg.currency_symbols, cfg.thousands_separator or ""]
    return not any(map(could_be_in_a_number, pieces)) and (
        cfg.decimal == "." or not set(cfg.decimal) & _NUMBER_CHARACTERS
    )


def _matches(text: pa.Array, pattern: str) -> np.ndarray:
    """Per row, whether the text matches (missing text does not)."""
    return pc.fill_null(pc.match_substring_regex(text, pattern), False).to_numpy(
        zero_copy_only=False
    )


def parse_numbers(text: pa.Array | pa.ChunkedArray, clean=None) -> np.ndarray:
    """Text to float in Arrow, NaN where the text is not a plain number (as pd.to_numeric with
    errors="coerce", without its Python loop; "inf" is not a number here either). Bare numbers,
    most rows, are cast at once; `clean` (text -> text) is applied to the others first."""
    bare = _matches(text, _BARE_NUMBER)
    if bare.all():
        return pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
    out = np.full(len(text), np.nan)
    if bare.any():
        out[bare] = pc.cast(text.filter(bare), pa.float64()).to_numpy(zero_copy_only=False)
    rest = text.filter(~bare)
    rest = clean(rest) if clean else rest
    plain = pc.if_else(
        pc.match_substring_regex(rest, _NUMBER),
        pc.utf8_trim_whitespace(rest),
        pa.scalar(None, pa.string()),
    )
    out[~bare] = pc.cast(plain, pa.float64()).to_numpy(zero_copy_only=False)
    return out


# --- timestamps ------------------------------------------------------------------------------


# `data.timestamp_format` words for numeric stamps ("%s" is strftime's own code for epoch seconds)
EPOCH_UNITS = {"epoch_s": "s", "%s": "s", "epoch_ms": "ms"}
EXCEL_FORMAT = "excel"
EXCEL_DAY_ZERO = pd.Timestamp("1899-12-30")  # Excel's serial day 0 (after its 1900 leap-year bug)
# stamps outside these years are misread numbers (e.g. milliseconds taken for seconds), not dates
PLAUSIBLE_YEARS = (pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01"))


def _to_datetime(text: pd.Series, cfg: DataConfig, utc: bool) -> pd.Series:
    """The configured format, else fast ISO 8601 with a per-element fallback for the rest."""
    fmt = cfg.timestamp_format or "ISO8601"
    try:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", dayfirst=cfg.dayfirst, utc=utc)
    except ValueError as exc:  # a bad pattern, not bad data
        raise ContractError(
            f"`data.timestamp_format` {fmt!r} is not a usable pattern ({exc}). Use strftime codes "
            'such as "%Y-%m-%d %H:%M" or "%Y年%m月%d日", or one of epoch_s, epoch_ms, excel '
            "for numeric stamps, or null to infer ISO-like dates."
        ) from None
    retry = parsed.isna() & text.notna() & (text != "")
    if cfg.timestamp_format is None and retry.any():
        # in ns: a first pass that parsed nothing may be in seconds, too coarse for the retry's
        parsed = parsed.dt.as_unit("ns")
        parsed[retry] = pd.to_datetime(
            text[retry], format="mixed", errors="coerce", dayfirst=cfg.dayfirst, utc=utc
        )
    return parsed


def _numeric_timestamp(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """Epoch seconds/milliseconds (instants, shown in `cfg.timezone`) or Excel serial days
    (local time)."""
    number = pd.to_numeric(text, errors="coerce").astype(float)
    if cfg.timestamp_format == EXCEL_FORMAT:
        # whole milliseconds: Excel keeps no finer time, and float days carry rounding noise
        days = number.where(number.between(0, (PLAUSIBLE_YEARS[1] - EXCEL_DAY_ZERO).days))
        local = EXCEL_DAY_ZERO + pd.to_timedelta((days * 86_400_000).round(), unit="ms")
    else:
        unit = EPOCH_UNITS[cfg.timestamp_format]
        lo, hi = (
            (bound - pd.Timestamp("1970-01-01")) / pd.Timedelta(1, unit)
            for bound in PLAUSIBLE_YEARS
        )
        instant = pd.to_datetime(number.where(number.between(lo, hi)), unit=unit, utc=True)
        local = instant.dt.tz_convert(cfg.timezone or "UTC").dt.tz_localize(None)
    local = local.where(local.between(*PLAUSIBLE_YEARS))
    return local.astype("datetime64[ns]")


def parse_timestamp(text: pd.Series, cfg: DataConfig) -> pd.Series:
    """Parse to naive local time (ns). Stamps with an offset are converted to `cfg.timezone`;
    stamps without one are taken as local time already. Numeric stamps follow
    `cfg.timestamp_format`: epoch_s, epoch_ms (instants) or excel (serial days, local)."""
    return pd.Series(parse_timestamps(text_array(text), cfg), index=text.index)


# an ISO 8601 local stamp of a real day from 1900 to 2099 (29 February aside: leap years are
# left to pandas), with an optional time of day; Arrow casts these exactly as pandas parses them
_ISO_DAY = (
    r"(19|20)\d\d-"
    r"((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
)
_ISO_TIME = r"([ T]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?)?"
_ISO_LOCAL = f"^{_ISO_DAY}{_ISO_TIME}$"


def parse_timestamps(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """`parse_timestamp` on Arrow text, as datetime64[ns]. With ISO dates inferred, the usual
    plain local stamps are cast by Arrow at once; pandas parses only the rest."""
    if cfg.timestamp_format is not None:
        return _parsed_by_pandas(text, cfg)
    plain = _matches(text, _ISO_LOCAL)
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    if plain.any():
        out[plain] = pc.cast(text.filter(plain), pa.timestamp("ns")).to_numpy()
    if not plain.all():
        out[~plain] = _parsed_by_pandas(text.filter(~plain), cfg)
    return out


def _parsed_by_pandas(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> np.ndarray:
    """The general parse, by pandas: a configured format, offsets, day-first, mixed shapes."""
    text = text.to_pandas().astype("string").str.strip()
    if cfg.timestamp_format in EPOCH_UNITS or cfg.timestamp_format == EXCEL_FORMAT:
        return _numeric_timestamp(text, cfg).to_numpy()
    # an offset only counts after a clock time, so day-first dates like 31-12-2024 stay local
    offset = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
    zoned = pd.Series(_matches(text_array(text), offset), index=text.index)
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    out[~zoned] = _to_datetime(text[~zoned], cfg, utc=False).astype("datetime64[ns]")
    if zoned.any():
        local = (
            _to_datetime(text[zoned], cfg, utc=True)
            .dt.tz_convert(cfg.timezone or "UTC")
            .dt.tz_localize(None)
        )
        out[zoned] = local.astype("datetime64[ns]")
    return out.to_numpy()


# --- customer ids, labels and other text -----------------------------------------------------


def customer_codes(text: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """The distinct customer ids (stripped) in id order, and per row the position of its id
    among them: -1 where the id is missing or blank."""
    # the distinct texts first: stripping them (not every row) may make some the same id
    encoded = pc.dictionary_encode(text).combine_chunks()  # one dictionary: joins only indices
    stripped = pc.dictionary_encode(text_or_none(encoded.dictionary))
    ids = stripped.dictionary
    rank = pc.sort_indices(ids).to_numpy()
    position = np.empty(len(rank) + 1, dtype=np.int64)
    position[rank] = np.arange(len(rank))
    position[-1] = -1  # a missing or blank id
    by_text = position[pc.fill_null(stripped.indices, -1).to_numpy()]
    codes = np.r_[by_text, -1][pc.fill_null(encoded.indices, -1).to_numpy()]
    return ids.take(rank), codes


_LABELS = (s.CATEGORY, s.CHANNEL)  # a few distinct values each


def parse_optional(column: str, values: pa.ChunkedArray):
    """An optional column parsed, for every row: order ids stripped (blank: missing), quantities
    as numbers, labels dictionary-encoded with their distinct values stripped."""
    if column == s.QUANTITY:
        return parse_numbers(values)  # numbers move faster than text when rows are put in order
    if column in _LABELS:  # the text work once per distinct label
        encoded = pc.dictionary_encode(values).combine_chunks()
        return pa.DictionaryArray.from_arrays(encoded.indices, text_or_none(encoded.dictionary))
    return text_or_none(values)


def text_or_none(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Stripped text; empty cells become missing."""
    text = pc.utf8_trim_whitespace(text)
    blank = pc.equal(text, "")
    if not pc.any(blank).as_py():
        return text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)
