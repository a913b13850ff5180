"""Reasons in plain words: the top SHAP drivers of a prediction, phrased from config templates."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

DIRECTION = {"en": ("raises", "lowers"), "zh": ("升高", "降低")}
SEPARATOR = {"en": "; ", "zh": "；"}


class _Phrasebook:
    def __init__(self, phrases: list[dict]):
        self.rules = [(re.compile(f"^(?:{p['pattern']})$"), p) for p in phrases]
        self.cache: dict[str, tuple[dict, dict] | None] = {}

    def lookup(self, feature: str):
        if feature not in self.cache:
            self.cache[feature] = None
            for pattern, phrase in self.rules:
                match = pattern.match(feature)
                if match:
                    self.cache[feature] = (phrase, match.groupdict())
                    break
        return self.cache[feature]

    def phrase(self, feature: str, row: dict, language: str) -> str:
        found = self.lookup(feature)
        value = row.get(feature)
        if found is None:
            return f"{feature} = {value}"
        phrase, groups = found
        try:
            return phrase[language].format(value=value, **groups, **row)
        except (KeyError, ValueError, TypeError):  # e.g. a missing attribute value
            return f"{feature} = {value}"


def top_drivers(contributions: pd.DataFrame, n: int) -> np.ndarray:
    """Column positions of the n largest |contribution| per row, largest first (ties by column)."""
    magnitude = -np.abs(contributions.to_numpy())
    return np.argsort(magnitude, axis=1, kind="stable")[:, :n]


def reasons(contributions: pd.DataFrame, features: pd.DataFrame, phrases: list[dict], n: int,
            what: dict[str, str]) -> dict[str, pd.Series]:
    """Per language, one text per customer: "<phrase> (raises risk); ..." for its top-n drivers.

    `what` names the prediction in each language, e.g. {"en": "risk", "zh": "流失风险"}.
    """
    book = _Phrasebook(phrases)
    columns = list(contributions.columns)
    top = top_drivers(contributions, n)
    signs = np.take_along_axis(contributions.to_numpy(), top, axis=1) > 0
    records = features.to_dict("records")
    out: dict[str, list[str]] = {language: [] for language in what}
    for row, positions, positive in zip(records, top, signs):
        for language, texts in out.items():
            parts = []
            for j, raises in zip(positions, positive):
                arrow = DIRECTION[language][0 if raises else 1]
                text = book.phrase(columns[j], row, language)
                parts.append(f"{text} ({arrow} {what[language]})" if language == "en"
                             else f"{text}（{arrow}{what[language]}）")
            texts.append(SEPARATOR[language].join(parts))
    return {language: pd.Series(texts, index=features.index, dtype=object) for language, texts in out.items()}
