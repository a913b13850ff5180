"""Reasons in plain words: the top SHAP drivers of a prediction, phrased from config templates.

A customer's reasons read "raises risk: A; B · lowers risk: C": drivers grouped by direction, each
phrased by the first configured entry that matches the feature and can be filled in (rounded
numbers with their units). A feature with no usable entry gets the configured generic phrase,
never its raw name.
"""

from __future__ import annotations

import math
import operator
import re

import numpy as np
import pandas as pd

DIRECTION = {"en": ("raises {what}: ", "lowers {what}: "), "zh": ("推高{what}：", "降低{what}：")}
SEPARATOR = {"en": "; ", "zh": "；"}
GROUP_SEPARATOR = {"en": " · ", "zh": " · "}
GENERIC = {"en": "other buying behaviour", "zh": "其他购买行为"}

_COMPARE = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$")
_NAN_TEXT = re.compile(r"(?<![a-z])nan(?![a-z])", re.IGNORECASE)
_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(value) -> float | None:
    try:
        return None if _missing(value) else float(value)
    except (TypeError, ValueError):
        return None


def condition_holds(when: str | None, value, row: dict) -> bool:
    """`when` of a phrase entry: zero | nonzero | positive | negative | missing | "<name> <op> <number>"."""
    if not when:
        return not _missing(value)
    if when == "missing":
        return _missing(value)
    number = _number(value)
    keyword = {
        "zero": lambda v: v == 0,
        "nonzero": lambda v: v != 0,
        "positive": lambda v: v > 0,
        "negative": lambda v: v < 0,
    }
    if when in keyword:
        return number is not None and keyword[when](number)
    match = _COMPARE.match(when)
    if not match:
        raise ValueError(
            f"tiering.reasons: cannot read when={when!r}; use zero, nonzero, positive, negative, "
            "missing or a comparison such as 'frequency <= 1'"
        )
    name, op, threshold = match.groups()
    left = number if name == "value" else _number(row.get(name))
    return left is not None and _OPERATORS[op](left, float(threshold))


class Phrasebook:
    """The configured phrase entries, matched per feature name (cached) and filled per customer."""

    def __init__(
        self, entries: list[dict], fallback: dict | None = None, context: dict | None = None
    ):
        self.rules = [(re.compile(f"^(?:{e['pattern']})$"), e) for e in entries]
        self.fallback = {**GENERIC, **(fallback or {})}
        self.context = context or {}
        self.cache: dict[str, list[tuple[dict, dict]]] = {}

    def candidates(self, feature: str) -> list[tuple[dict, dict]]:
        """Every entry whose pattern matches the feature, in config order, with the named groups."""
        if feature not in self.cache:
            found = []
            for pattern, entry in self.rules:
                match = pattern.match(feature)
                if match:
                    found.append((entry, match.groupdict()))
            self.cache[feature] = found
        return self.cache[feature]

    def covers(self, feature: str) -> bool:
        return bool(self.candidates(feature))

    def phrase(self, feature: str, row: dict, language: str) -> str:
        """The first entry that matches, whose `when` holds and whose fields can all be filled."""
        value = row.get(feature)
        fields = {**self.context, **row}
        for entry, groups in self.candidates(feature):
            if language not in entry or not condition_holds(entry.get("when"), value, row):
                continue
            try:
                text = entry[language].format(**{**fields, **groups, "value": value})
            except (KeyError, ValueError, TypeError, IndexError):  # a field this customer lacks
                continue
            if not _NAN_TEXT.search(text):  # a NaN field formats as "nan": not for people
                return text
        return self.fallback[language]


def feature_label(feature: str, names: list[dict], language: str) -> str:
    """A short plain name for a feature (for charts and tables), from `tiering.reasons.names`."""
    book = Phrasebook(names, {"en": "Other feature", "zh": "其他特征"})
    return book.phrase(feature, {feature: 1.0}, language)


def feature_labels(features, names: list[dict]) -> dict[str, dict[str, str]]:
    """Short plain names of many features, in both languages: {feature: {"en": ..., "zh": ...}}."""
    return {
        f: {language: feature_label(f, names, language) for language in ("en", "zh")}
        for f in features
    }


def top_drivers(contributions: pd.DataFrame, n: int) -> np.ndarray:
    """Column positions of the n largest |contribution| per row, largest first (ties by column)."""
    magnitude = -np.abs(contributions.to_numpy())
    return np.argsort(magnitude, axis=1, kind="stable")[:, :n]


def _join(parts: list[tuple[bool, str]], language: str, what: str) -> str:
    """Group by direction, the group holding the strongest driver first."""
    groups: dict[bool, list[str]] = {}
    for raises, text in parts:
        groups.setdefault(raises, []).append(text)
    heads = DIRECTION[language]
    return GROUP_SEPARATOR[language].join(
        heads[0 if raises else 1].format(what=what) + SEPARATOR[language].join(texts)
        for raises, texts in groups.items()
    )


def reasons(
    contributions: pd.DataFrame,
    features: pd.DataFrame,
    phrases: list[dict],
    n: int,
    what: dict[str, str],
    fallback: dict | None = None,
    context: dict | None = None,
) -> dict[str, pd.Series]:
    """Per language, one text per customer naming its top-n drivers, grouped by direction.

    `what` names the prediction in each language, e.g. {"en": "risk", "zh": "流失风险"};
    `context` holds extra fields the phrases may use (e.g. horizon_days).
    """
    book = Phrasebook(phrases, fallback, context)
    columns = list(contributions.columns)
    top = top_drivers(contributions, n)
    signs = np.take_along_axis(contributions.to_numpy(), top, axis=1) > 0
    records = features.to_dict("records")
    out: dict[str, list[str]] = {language: [] for language in what}
    for row, positions, positive in zip(records, top, signs):
        for language, texts in out.items():
            parts = [
                (bool(raises), book.phrase(columns[j], row, language))
                for j, raises in zip(positions, positive)
            ]
            texts.append(_join(parts, language, what[language]))
    return {
        language: pd.Series(texts, index=features.index, dtype=object)
        for language, texts in out.items()
    }
