"""Parsing the user's text into values: amounts and numbers, timestamps, customer ids and labels.

Columnar: Arrow compute and numpy over whole columns. The common shapes (bare numbers, plain ISO
stamps) are cast at once, and only the rest is cleaned first (amounts) or parsed by pandas
(timestamps), with tests proving both paths give pandas' answers. What cannot be parsed becomes
missing (NaN, NaT, None), never an error: `segml.data.validate` rejects those rows with a reason.
One section per kind of value, so a new habit of the users' exports (accountants' negatives,
ids damaged by spreadsheets) is one more step in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

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


# full-width forms Chinese input methods type (ＡＢＣ１２３．，（）－￥, the ideographic space) and
# their ASCII: every one for numbers and labels; for ids only letters and digits (full-width
# punctuation is how Chinese names are written: "某某（集团）" stays as it is)
_FULL_WIDTH = {0xFF01 + k: 0x21 + k for k in range(94)} | {0xFFE5: "¥", 0x3000: " "}
_WIDE = r"[\x{FF01}-\x{FF5E}\x{FFE5}\x{3000}]"
_WIDE_ALNUM = r"[\x{FF10}-\x{FF19}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}]"
_ALNUM = {k: v for k, v in _FULL_WIDTH.items() if chr(k).isalnum()}


def narrowed(text: pa.Array | pa.ChunkedArray, alnum_only: bool = False):
    """Full-width letters and digits (and, unless `alnum_only`, signs, brackets, "￥" and the
    ideographic space) as ASCII: "（１２．５）" -> "(12.5)". Only the few texts that have any are
    looked at."""
    wide = _matches(text, _WIDE_ALNUM if alnum_only else _WIDE)
    if not wide.any():
        return text
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    table = _ALNUM if alnum_only else _FULL_WIDTH
    narrow = [v.translate(table) for v in text.filter(wide).to_pylist()]
    return pc.replace_with_mask(text, pa.array(wide), pa.array(narrow, text.type))


# minus signs people type or word processors make: the Unicode minus, figure and en dashes, the
# hyphens; the full-width hyphen-minus becomes "-" by `narrowed` already
_MINUS_SIGNS = "\u2212\u2012\u2013\u2010\u2011\ufe63"


def _plain_characters(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Full-width digits, signs and brackets as ASCII (`narrowed`) and every minus sign as "-"."""
    return pc.replace_substring_regex(narrowed(text), f"[{_MINUS_SIGNS}]", "-")


def _signed(text: pa.Array | pa.ChunkedArray, styles) -> pa.Array | pa.ChunkedArray:
    """Negative numbers written the accountant's ways as a leading minus: "(96.63)" with
    `parentheses`, "96.63-" with `trailing_minus` (`data.negatives`)."""
    if "parentheses" in styles:
        text = pc.replace_substring_regex(text, r"^\((.*)\)$", r"-\1")
    if "trailing_minus" in styles:
        text = pc.replace_substring_regex(text, r"^([^-].*)-$", r"-\1")
    return text


def _cleaned_amounts(text: pa.Array | pa.ChunkedArray, cfg: DataConfig) -> pa.Array:
    """Amount text without currency symbols, white space or thousands separators, with a "."
    for the decimal mark and a leading "-" for a negative however it was written."""
    text = _plain_characters(text)
    symbols = dict.fromkeys([*cfg.currency_symbols, *map(_narrow, cfg.currency_symbols)])
    for symbol in sorted(symbols, key=len, reverse=True):
        text = pc.replace_substring(text, symbol, "")
    text = pc.replace_substring_regex(text, r"\s", "")
    if cfg.thousands_separator:
        text = pc.replace_substring(text, _narrow(cfg.thousands_separator), "")
    if cfg.decimal != ".":
        text = pc.replace_substring(text, _narrow(cfg.decimal), ".")
    return _signed(text, cfg.negatives)


def _narrow(text: str) -> str:
    return text.translate(_FULL_WIDTH)


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


# what a spreadsheet leaves around an id: white space (also non-breaking and ideographic), control
# characters and invisible format marks (zero-width spaces, byte-order marks)
_AROUND = r"^[\p{Z}\p{Cc}\p{Cf}]+|[\p{Z}\p{Cc}\p{Cf}]+$"
# a whole number that went through a float: "1234567.0" (exact to repair)
_FLOAT_TAIL = r"^(\d+)\.0+$"
# a number a spreadsheet shows in scientific notation: "1.23457E+11" (its digits are lost)
_SCIENTIFIC = r"^[+-]?\d+(\.\d+)?[eE][+-]\d+$"


def clean_ids(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Ids as one customer is known whatever a spreadsheet did to them: full-width letters and
    digits as ASCII (`narrowed`), stray spaces and invisible marks at either end removed, a float's
    ".0" tail removed from a whole number; blank ids missing."""
    return _cleaned(_plain_ids(text))


def _plain_ids(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Ids narrowed, without what surrounds them (the first steps of `clean_ids`)."""
    return pc.replace_substring_regex(narrowed(text, alnum_only=True), _AROUND, "")


def _cleaned(plain: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    text = pc.replace_substring_regex(plain, _FLOAT_TAIL, r"\1")
    blank = pc.equal(text, "")
    if not pc.any(blank).as_py():
        return text
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def id_repairs(raw: pa.Array, plain: pa.Array | None = None) -> dict[str, np.ndarray]:
    """Per distinct id text, what `clean_ids` repaired: `float_tail` (a whole number's ".0"
    removed) and `spaces_or_full_width` (stray spaces, invisible marks or full-width characters).
    `plain`: `_plain_ids(raw)`, when computed already."""
    plain = _plain_ids(raw) if plain is None else plain
    changed = pc.fill_null(pc.not_equal(raw, plain), False).to_numpy(zero_copy_only=False)
    return {"float_tail": _matches(plain, _FLOAT_TAIL), "spaces_or_full_width": changed}


def damaged_ids(ids: pa.Array) -> np.ndarray:
    """Per id, whether a spreadsheet turned it into a number shown in scientific notation."""
    return _matches(ids, _SCIENTIFIC)


def case_merged(*spellings: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Ids that differ only in letter case, as one: every spelling seen (in any of the files) and
    the spelling it becomes, the one of its set that sorts first ("C00012" for "c00012")."""
    every = _every(spellings)
    frame = pd.DataFrame({"id": every.to_numpy(zero_copy_only=False)})
    frame["key"] = pc.utf8_lower(every).to_numpy(zero_copy_only=False)
    canonical = frame.groupby("key")["id"].transform("min")
    return pa.array(frame["id"], pa.string()), pa.array(canonical, pa.string())


def _every(spellings: tuple) -> pa.Array:
    """The distinct ids of several files, as one array."""
    pieces = [pc.drop_null(a).cast(pa.string()) for a in spellings]
    return pc.unique(pa.chunked_array(pieces, type=pa.string()))


def case_variants(*spellings: pa.Array) -> int:
    """How many customers are written in more than one letter case across the files."""
    lower = pc.utf8_lower(_every(spellings))
    counts = pc.value_counts(lower).field("counts")
    return int(pc.sum(pc.greater(counts, 1)).as_py() or 0)


def respelled(ids: pa.Array | pa.ChunkedArray, merged: tuple[pa.Array, pa.Array] | None):
    """`ids` with each spelling replaced by the one `case_merged` chose (as they are without)."""
    if merged is None:
        return ids
    spellings, canonical = merged
    return pc.coalesce(pc.take(canonical, pc.index_in(ids, value_set=spellings)), ids)


@dataclass(frozen=True)
class CustomerIds:
    """The transactions' customer ids: the distinct usable ids in id order, per row the position
    of its id among them (-1: missing, blank or damaged), the rows whose id is damaged, and the
    rows repaired (`id_repairs`' kinds)."""

    ids: pa.Array
    codes: np.ndarray
    damaged: np.ndarray
    repaired: dict[str, int]


def customer_codes(
    text: pa.ChunkedArray | pa.Array, merged: tuple[pa.Array, pa.Array] | None = None
) -> CustomerIds:
    """The transactions' customer ids cleaned (`clean_ids`; respelled by `merged`, see
    `case_merged`), in id order, and per row the position of its id among them."""
    # the distinct texts first: cleaning them (not every row) may make some the same id
    encoded = pc.dictionary_encode(text).combine_chunks()  # one dictionary: joins only indices
    raw = encoded.dictionary
    plain = _plain_ids(raw)
    cleaned = respelled(_cleaned(plain), merged)
    damaged_text = damaged_ids(cleaned)
    usable = pc.if_else(pa.array(damaged_text), pa.scalar(None, pa.string()), cleaned)
    stripped = pc.dictionary_encode(usable)
    ids = stripped.dictionary
    rank = pc.sort_indices(ids).to_numpy()
    position = np.empty(len(rank) + 1, dtype=np.int64)
    position[rank] = np.arange(len(rank))
    position[-1] = -1  # a missing, blank or damaged id
    by_text = position[pc.fill_null(stripped.indices, -1).to_numpy()]
    row_text = pc.fill_null(encoded.indices, -1).to_numpy()
    codes = np.r_[by_text, -1][row_text]
    per_text = np.bincount(row_text[row_text >= 0], minlength=len(raw))
    repairs = id_repairs(raw, plain)
    return CustomerIds(
        ids.take(rank),
        codes,
        np.r_[damaged_text, False][row_text],
        {kind: int(per_text[mask].sum()) for kind, mask in repairs.items()},
    )


_LABELS = (s.CATEGORY, s.CHANNEL)  # a few distinct values each


def parse_optional(column: str, values: pa.ChunkedArray, negatives=()):
    """An optional column parsed, for every row: order ids stripped (blank: missing), quantities
    as numbers (negatives written as `negatives` allows, full-width digits), labels
    dictionary-encoded with their distinct values stripped."""
    if column == s.QUANTITY:  # numbers move faster than text when rows are put in order
        return parse_numbers(values, clean=lambda rest: _signed(_plain_characters(rest), negatives))
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
