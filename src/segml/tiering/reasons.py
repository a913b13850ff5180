"""Reasons in plain words: the behaviours that move a customer's churn risk or value most, each
said from what the customer did (`segml.tiering.behaviour`), never as another model's output.

The model's drivers are summed per behaviour group (`tiering.reasons.groups`: the gap since the
last purchase, recent buying, spend, ...; `segml.tiering.attribution`). A customer's reasons are
their strongest groups whose phrase reads right in the driver's direction: each group's phrases are
tried in config order, and the first whose `reads` holds the direction ("raises risk", "lowers
value", ...), whose `when` holds and whose facts are known phrases it. A group with no such phrase
(e.g. "raises value" for a customer who stopped buying) is not a reason for that customer, and the
next group takes its place; a customer left with none reads the `fallback` facts (the last
purchase against the usual gap), without a direction. Texts read "raises risk: A; B · lowers risk: C": grouped by direction,
the strongest driver's direction first. Everything is computed on whole columns, so a million
customers cost seconds.
"""

from __future__ import annotations

import operator
import re
import string
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import pandas as pd

from segml.tiering.behaviour import Facts

LANGUAGES = ("en", "zh")
# how a short name's pattern captures a value: `category_share__(?P<level>.+)`
LEVEL = "(?P<level>.+)"
DIRECTION = {"en": ("raises {what}: ", "lowers {what}: "), "zh": ("推高{what}：", "降低{what}：")}
SEPARATOR = {"en": "; ", "zh": "；"}
GROUP_SEPARATOR = {"en": " · ", "zh": " · "}
# what each target's reasons explain, in words
WHAT = {"churn": {"en": "risk", "zh": "流失风险"}, "value": {"en": "value", "zh": "价值"}}
READS = {f"{d}_{w}" for d in ("raises", "lowers") for w in ("risk", "value")}
READING = {"churn": "risk", "value": "value"}

_COMPARE = re.compile(r"^\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*(\w+|-?\d+(?:\.\d+)?)\s*$")
_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Condition:
    """`<fact> <op> <number or fact>`, e.g. "gap_ratio > 2" or "recency_days <= horizon_days"."""

    left: str
    op: str
    right: str

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _COMPARE.match(str(text))
        if not match:
            raise ValueError(
                f"tiering.reasons: cannot read when={text!r}; write '<fact> <op> <number or fact>', "
                "e.g. 'frequency <= 1' or 'recency_days > horizon_days'"
            )
        return cls(*match.groups())

    def mask(self, facts: Facts) -> np.ndarray:
        left = facts.values(self.left)
        try:
            right = float(self.right)
        except ValueError:
            right = facts.values(self.right)
        if left is None or right is None:
            return np.zeros(len(facts), dtype=bool)
        left, right = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
        with np.errstate(invalid="ignore"):
            held = _OPERATORS[self.op](left, right) & ~np.isnan(left) & ~np.isnan(right)
        return np.broadcast_to(held, (len(facts),))


def _format_each(values: np.ndarray, spec: str) -> np.ndarray:
    """`values` formatted with `spec`, each distinct value once (a million cells cost little)."""
    if values.dtype != object and spec.endswith(("f", "%")):
        digits = int(re.search(r"\.(\d+)", spec).group(1)) if "." in spec else 6
        scale = 100.0 if spec.endswith("%") else 1.0
        values = np.round(values * scale, digits) / scale + 0.0  # + 0.0: no "-0"
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.array([format(u, spec) for u in uniques], dtype=object)[codes]


# English plurals right after a number ("1 days" reads "1 day")
_PLURAL = re.compile(r"^ (purchase days|days|orders|purchases|categories|channels|months|years)\b")
_SINGULAR = {"categories": "category"}


class Template:
    """A phrase such as "no purchase for {recency_days:,.0f} days", filled on whole columns; a word
    in -s right after a number that reads 1 loses its s."""

    def __init__(self, text: str):
        self.text = text
        self.parts = list(string.Formatter().parse(text))
        self.fields = {name for _, name, _, _ in self.parts if name}

    def fill(self, facts: Facts, rows: np.ndarray, language: str | None = None) -> np.ndarray:
        size = int(rows.sum())
        pieces = []
        number = None  # the previous field's text, when the literal after it may be a plural
        for literal, name, spec, _ in self.parts:
            plural = _PLURAL.match(literal)
            if number is not None and plural:
                word = plural.group(1)
                singular = " " + _SINGULAR.get(word, word[:-1]) + literal[plural.end() :]
                pieces.append(_pick(number == "1", singular, literal))
            elif literal:
                pieces.append(literal)
            number = None
            if name:
                values = facts.values(name, language)
                values = values[rows] if isinstance(values, np.ndarray) else np.array([values])
                number = np.broadcast_to(_format_each(values, spec or ""), (size,))
                pieces.append(number)
        return _joined(pieces, size)


def _pick(condition: np.ndarray, yes: str, no: str) -> np.ndarray:
    """`yes` where the condition holds, else `no`, as an object array (no text copied per row)."""
    return np.array([no, yes], dtype=object)[condition.astype(np.intp)]


def _joined(pieces: list, size: int) -> np.ndarray:
    """Row by row, the pieces' texts (arrays, or one text for every row) joined in one pass:
    adding object arrays piece by piece is several times slower."""
    columns = [repeat(p, size) if isinstance(p, str) else p.tolist() for p in pieces]
    out = np.empty(size, dtype=object)
    out[:] = list(map("".join, zip(*columns))) if columns else ""
    return out


@dataclass(frozen=True)
class Entry:
    """One phrase of a group: which directions it reads right for, when it holds, its texts."""

    reads: frozenset
    when: tuple
    texts: dict  # language -> Template

    @classmethod
    def from_config(cls, entry: dict, group: str) -> Entry:
        reads = frozenset(entry.get("reads") or READS)
        if not reads <= READS:
            raise ValueError(
                f"tiering.reasons.groups[{group}]: reads {sorted(reads - READS)} unknown; use "
                f"{sorted(READS)}"
            )
        when = entry.get("when") or []
        when = [when] if isinstance(when, str) else list(when)
        missing = [language for language in LANGUAGES if language not in entry]
        if missing:
            raise ValueError(f"tiering.reasons.groups[{group}]: a phrase lacks {missing}")
        texts = {language: Template(entry[language]) for language in LANGUAGES}
        return cls(reads, tuple(Condition.parse(c) for c in when), texts)

    def holds(self, facts: Facts) -> np.ndarray:
        """Where its conditions hold and every fact its texts name is known (kept with the facts:
        churn and value reasons ask the same)."""
        key = ("holds", id(self))
        if key not in facts.cache:
            facts.cache[key] = self._holds(facts)
        return facts.cache[key]

    def _holds(self, facts: Facts) -> np.ndarray:
        held = np.ones(len(facts), dtype=bool)
        for condition in self.when:
            held &= condition.mask(facts)
        for name in set().union(*(t.fields for t in self.texts.values())):
            held &= facts.known(name)
        return held


@dataclass(frozen=True)
class Group:
    """A behaviour: the model features that summarise it and the phrases that say it."""

    key: str
    pattern: re.Pattern
    entries: tuple


class ReasonBook:
    """`tiering.reasons` read once: the behaviour groups, in config order (a feature belongs to the
    first group whose pattern matches), and the features that are products of two others."""

    def __init__(self, reasons: dict, value_window_days: int = 365):
        fields = {"value_window_days": value_window_days}
        self.groups = [
            Group(
                g["key"],
                re.compile(f"^(?:{g['features'].format(**fields)})$"),
                tuple(Entry.from_config(e, g["key"]) for e in g.get("phrases", [])),
            )
            for g in reasons.get("groups", [])
        ]
        self.products = {k: tuple(v) for k, v in (reasons.get("products") or {}).items()}
        self.fallback = tuple(
            Entry.from_config(e, "fallback") for e in reasons.get("fallback") or []
        )
        self.top_n = int(reasons.get("top_n", 3))
        self.min_share = float(reasons.get("min_share", 0.0))

    def group_of(self, feature: str) -> int:
        """The position of the feature's group, or -1 (its drivers are then never a reason)."""
        for i, group in enumerate(self.groups):
            if group.pattern.match(feature):
                return i
        return -1

    def keys(self) -> list[str]:
        return [g.key for g in self.groups]


def _choose(contributions: np.ndarray, usable: np.ndarray, top_n: int, min_share: float):
    """Per customer, the `top_n` strongest usable groups (largest |contribution| first; ties by
    group order): their positions and whether each slot holds one. A group below `min_share` of
    the customer's total |contribution| is left out, unless it is the strongest usable one."""
    magnitude = np.abs(contributions)
    rows = np.arange(len(magnitude))
    strong = magnitude >= min_share * magnitude.sum(axis=1, keepdims=True)
    left = np.where(usable, magnitude, -1.0)
    chosen = np.zeros((len(magnitude), top_n), dtype=np.intp)
    present = np.zeros((len(magnitude), top_n), dtype=bool)
    for slot in range(top_n):
        best = left.argmax(axis=1)
        chosen[:, slot] = best
        present[:, slot] = left[rows, best] >= 0
        left[rows, best] = -1.0
        if slot == 0:
            left[~strong] = -1.0
    return chosen, present


def phrase_reasons(
    contributions: np.ndarray, facts: Facts, book: ReasonBook, target: str
) -> dict[str, np.ndarray]:
    """Per language, one text per customer: the reasons for `target` ("churn" or "value") from the
    customers' group contributions (customers x `book.groups`, in raw model units) and facts."""
    n, k = contributions.shape
    raises = contributions > 0
    reading = READING[target]
    holds = [[entry.holds(facts) for entry in group.entries] for group in book.groups]
    usable = np.zeros((n, k), dtype=bool)
    for g, group in enumerate(book.groups):
        for direction, rows in (("raises", raises[:, g]), ("lowers", ~raises[:, g])):
            for entry, held in zip(group.entries, holds[g]):
                if f"{direction}_{reading}" in entry.reads:
                    usable[:, g] |= rows & held
    usable &= contributions != 0
    chosen, present = _choose(contributions, usable, book.top_n, book.min_share)
    up = np.take_along_axis(raises, chosen, axis=1)
    texts = {language: np.full(chosen.shape, "", dtype=object) for language in LANGUAGES}
    for slot in range(chosen.shape[1]):
        for g, group in enumerate(book.groups):
            rows = present[:, slot] & (chosen[:, slot] == g)
            for direction, todo in (
                ("raises", rows & up[:, slot]),
                ("lowers", rows & ~up[:, slot]),
            ):
                for entry, held in zip(group.entries, holds[g]):
                    if f"{direction}_{reading}" not in entry.reads:
                        continue
                    hit = todo & held
                    if hit.any():
                        for language in LANGUAGES:
                            texts[language][hit, slot] = entry.texts[language].fill(
                                facts, hit, language
                            )
                        todo = todo & ~hit
    out = {
        language: _assemble(texts[language], up, present, language, WHAT[target][language])
        for language in LANGUAGES
    }
    todo = ~present[:, 0]  # no behaviour reads right: plain facts instead
    for entry in book.fallback:
        hit = todo & entry.holds(facts)
        if hit.any():
            for language in LANGUAGES:
                out[language][hit] = entry.texts[language].fill(facts, hit, language)
            todo &= ~hit
    return out


def _assemble(
    texts: np.ndarray, up: np.ndarray, present: np.ndarray, language: str, what: str
) -> np.ndarray:
    """ "raises risk: A; B · lowers risk: C" per customer: the slots grouped by direction, the
    strongest driver's direction first, in strength order within each."""
    rows, slots = texts.shape
    later = up != up[:, :1]
    key = np.where(present, later * slots, 2 * slots) + np.arange(slots)
    order = np.argsort(key, axis=1, kind="stable")
    texts, up, present = (np.take_along_axis(a, order, axis=1) for a in (texts, up, present))
    raise_head, lower_head = (h.format(what=what) for h in DIRECTION[language])
    # what comes before a slot's text: nothing (no reason), the separator (same direction as the
    # slot before) or the separator of groups and the direction's head
    before = np.array(
        [
            "",
            SEPARATOR[language],
            GROUP_SEPARATOR[language] + lower_head,
            GROUP_SEPARATOR[language] + raise_head,
            lower_head,
            raise_head,
        ],
        dtype=object,
    )
    pieces = [before[np.where(present[:, 0], 4 + up[:, 0], 0)], texts[:, 0]]
    for j in range(1, slots):
        code = np.where(up[:, j] == up[:, j - 1], 1, 2 + up[:, j])
        pieces += [before[np.where(present[:, j], code, 0)], texts[:, j]]
    return _joined(pieces, rows)


# ------------------------------------------------------------------ short names for charts


class Phrasebook:
    """Configured `{pattern, en, zh}` entries matched per feature name: `tiering.reasons.names`,
    the short plain names of features for charts and tables (named groups fill the text)."""

    def __init__(self, entries: list[dict], fallback: dict | None = None):
        self.rules = [(re.compile(f"^(?:{e['pattern']})$"), e) for e in entries]
        self.fallback = fallback or {"en": "Other feature", "zh": "其他特征"}

    def covers(self, feature: str) -> bool:
        return any(p.match(feature) for p, _ in self.rules)

    def name(self, feature: str, language: str) -> str:
        for pattern, entry in self.rules:
            match = pattern.match(feature)
            if match and language in entry:
                return entry[language].format(**match.groupdict())
        return self.fallback[language]


def feature_label(feature: str, names: list[dict], language: str) -> str:
    """A short plain name for a feature (for charts and tables), from `tiering.reasons.names`."""
    return Phrasebook(names).name(feature, language)


def feature_labels(features, names: list[dict]) -> dict[str, dict[str, str]]:
    """Short plain names of many features, in both languages: {feature: {"en": ..., "zh": ...}}."""
    book = Phrasebook(names)
    return {f: {language: book.name(f, language) for language in LANGUAGES} for f in features}


def with_level_names(names: list[dict], words_by_prefix: dict[str, dict]) -> list[dict]:
    """`names` with, before each entry whose pattern starts with a prefix and captures the value
    (`(?P<level>.+)`), one entry per value mapped under that prefix, its words in place."""
    out = []
    for entry in names:
        pattern = entry["pattern"]
        for prefix, words in words_by_prefix.items():
            if not (pattern.startswith(prefix) and LEVEL in pattern):
                continue
            for value, said in words.items():
                out.append(
                    {
                        "pattern": pattern.replace(LEVEL, re.escape(value)),
                        **{
                            language: entry[language].replace("{level}", text)
                            for language, text in said.items()
                            if language in entry
                        },
                    }
                )
        out.append(entry)
    return out
