"""Usage kinds in words: `data.usage.kinds` maps the export's kind of usage ("流量GB") to what people
read ({en: mobile data (GB), zh: 流量（GB）}); a kind not mapped reads as it is written.

The reasons' facts carry the most used kind as `usage_kind_en` / `usage_kind_zh`
(`seams.subscriber_facts`, from `tiering.reasons.usage_kinds`, which `with_usage_words` fills), and
the short names of usage features (charts, tables) get an entry per mapped kind before the generic
ones, so "近90天{level}用量" reads "近90天流量（GB）用量".
"""

from __future__ import annotations

import dataclasses

from segml.config import TieringConfig
from segml.errors import ConfigError
from segml.tiering.reasons import with_level_names


def usage_words(usage: dict | None) -> dict[str, dict[str, str]]:
    """`data.usage.kinds` as {kind: {en, zh}}: a plain text serves both languages; anything
    else stops with how to write it."""
    kinds = (usage or {}).get("kinds") or {}
    if not isinstance(kinds, dict):
        raise ConfigError(
            f"data.usage.kinds={kinds!r}: map each usage kind of the export to its words, e.g. "
            "{流量GB: {en: mobile data (GB), zh: 流量（GB）}}."
        )
    out = {}
    for kind, words in kinds.items():
        if isinstance(words, str):
            words = {"en": words, "zh": words}
        if not isinstance(words, dict) or set(words) - {"en", "zh"} or not words:
            raise ConfigError(
                f"data.usage.kinds.{kind}={words!r}: write {{en: <words>, zh: <words>}} (or one "
                "text for both languages)."
            )
        out[str(kind)] = {
            "en": str(words.get("en") or words.get("zh")),
            "zh": str(words.get("zh") or words.get("en")),
        }
    return out


def said(kind: str, words: dict[str, dict[str, str]], language: str) -> str:
    """A usage kind in `language`: its configured words, else the kind as the export writes it."""
    return words.get(kind, {}).get(language, kind)


def with_usage_words(tiering: TieringConfig, usage: dict | None) -> TieringConfig:
    """`tiering` whose reasons know the usage kinds' words (`reasons.usage_kinds`) and whose short
    names say a mapped kind in words: each name entry capturing the kind (`(?P<level>.+)`) in a
    usage pattern is preceded by one per mapped kind. Unchanged when nothing is mapped."""
    words = usage_words(usage)
    if not words:
        return tiering
    names = with_level_names(list(tiering.reasons.get("names") or []), {"usage": words})
    reasons = {**tiering.reasons, "names": names, "usage_kinds": words}
    return dataclasses.replace(tiering, reasons=reasons)
