"""The export's own words in the reader's language: `data.value_words` maps the values of the
category, channel and plan columns and of category attributes, as the export writes them ("服装",
"小程序"), to what English and Chinese reasons and short names say ("mostly clothing", "Share
via mini program"). A value not mapped reads as written, so nothing is lost, only left
untranslated.

`with_value_words` puts the words where the tier and export stages read them: the reasons' facts
(`reasons.value_words`, by fact: `top_category`, `top_channel`, `plan`, `attr_<name>`) and one short
name per mapped value before each name entry that captures the value (`(?P<level>.+)`), the way
`tiering.usage_words` says usage kinds (`reasons.with_level_names`).
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings

from segml.config import TieringConfig
from segml.data.attributes import customer_attributes
from segml.errors import ConfigError, InputWarning
from segml.tiering.reasons import LANGUAGES, with_level_names

# the input columns whose values reasons say: the fact that says them, the short names' prefix
COLUMNS = {
    "category": ("top_category", "category_share__"),
    "channel": ("top_channel", "channel_share__"),
    "plan": ("plan", None),
}
_EXAMPLE = "e.g. {服装: clothing} or {服装: {en: clothing, zh: 服装}}"


def value_words(given: dict | None, customer_columns: dict) -> dict[str, dict[str, dict[str, str]]]:
    """`data.value_words` as {column: {value: {language: words}}}: a plain text is the English
    words (Chinese reads the value as written), a mapping gives either language or both. Words
    written otherwise stop with what to write; a column whose values no reason says (not mapped
    in `data.customer_columns`, or misspelt) is left out with a warning naming the closest one."""
    given = given or {}
    facts = said_columns(customer_columns)
    if not isinstance(given, dict):
        raise ConfigError(
            f"data.value_words={given!r}: map a column to its values' words, {_EXAMPLE}"
        )
    out = {}
    for column, values in given.items():
        setting = f"data.value_words.{column}"
        if not isinstance(values, dict):
            raise ConfigError(f"{setting}={values!r}: map each value to its words, {_EXAMPLE}")
        words = {str(value): _words(f"{setting}.{value}", value, w) for value, w in values.items()}
        if column in facts:
            out[column] = words
            continue
        close = difflib.get_close_matches(str(column), list(facts), n=1)
        warnings.warn(
            InputWarning(
                f"{setting}: no reason says the values of {column!r}, so these words are not "
                f"used (reasons say those of {', '.join(facts)})."
                + (f" Did you mean {close[0]!r}?" if close else " Remove it if it is not needed.")
            ),
            stacklevel=2,
        )
    return out


def said_columns(customer_columns: dict) -> dict[str, str]:
    """The columns whose values reasons say, each with the fact that says it."""
    facts = {column: fact for column, (fact, _) in COLUMNS.items()}
    for attribute in customer_attributes(customer_columns):
        if attribute.type == "category":
            facts[attribute.name] = attribute.feature
    return facts


def _words(setting: str, value, words) -> dict[str, str]:
    if isinstance(words, str):
        words = {"en": words}
    if (
        not isinstance(words, dict)
        or not words
        or set(words) - set(LANGUAGES)
        or not all(isinstance(w, str) and w for w in words.values())
    ):
        raise ConfigError(f"{setting}={words!r}: write the words as text, {_EXAMPLE}")
    return {language: words.get(language, str(value)) for language in LANGUAGES}


def with_value_words(
    tiering: TieringConfig, given: dict | None, customer_columns: dict
) -> TieringConfig:
    """`tiering` whose reasons say mapped values in words (`reasons.value_words`, by fact) and
    whose short names do (`category_share__服装` reads "Share of spend: clothing"). Unchanged when
    nothing is mapped."""
    words = value_words(given, customer_columns)
    if not words:
        return tiering
    facts = said_columns(customer_columns)
    prefixes = {COLUMNS[c][1]: w for c, w in words.items() if c in COLUMNS and COLUMNS[c][1]}
    reasons = {
        **tiering.reasons,
        "names": with_level_names(list(tiering.reasons.get("names") or []), prefixes),
        "value_words": {facts[column]: w for column, w in words.items()},
    }
    return dataclasses.replace(tiering, reasons=reasons)
