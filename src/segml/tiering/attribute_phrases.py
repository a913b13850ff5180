"""Reason phrases and short names for customer attributes the configured ones do not cover, made
from each attribute's own words (`data.customer_columns.<name>: {en, zh}`).

`tiering.reasons` names the six attributes of the demo by hand (region, city tier, ...). Any other
attribute gets a behaviour group after the configured ones ("credit grade C" / "信用等级：C",
"employees 250", "business account: yes", "customer since 420 days ago" / "开户日期：420天前") and
a short name before the generic `attr_.+` ("Credit grade" / "信用等级"), so no business text shows
a raw column name. Attributes the configured groups and names match keep their configured words,
so the transaction demo's reasons do not move.
"""

from __future__ import annotations

import dataclasses
import re

from segml.config import TieringConfig
from segml.data.attributes import PREFIX, Attribute, customer_attributes

# the phrases per type: the attribute's words fill {en} / {zh}, the fact is {f} (its feature)
_PHRASES = {
    "category": [{"en": "{en} {{{f}}}", "zh": "{zh}：{{{f}}}"}],
    "number": [{"en": "{en} {{{f}:,.10g}}", "zh": "{zh}：{{{f}:,.10g}}"}],
    "yes_no": [
        {"when": "{f} == 1", "en": "{en}: yes", "zh": "{zh}：是"},
        {"when": "{f} == 0", "en": "{en}: no", "zh": "{zh}：否"},
    ],
    "date": [{"en": "{en} {{{f}:,.0f}} days ago", "zh": "{zh}：{{{f}:,.0f}}天前"}],
}
_NOT_RECORDED = {"en": "{en} not recorded", "zh": "{zh}未记录"}


def with_attribute_phrases(tiering: TieringConfig, customer_columns: dict) -> TieringConfig:
    """`tiering` with a reason group and a short name for every attribute `data.customer_columns`
    maps that no
    configured group (and no configured name but the generic one) covers."""
    reasons = tiering.reasons
    groups = list(reasons.get("groups") or [])
    names = list(reasons.get("names") or [])
    fields = {"value_window_days": tiering.value_window_days}
    covered = [re.compile(f"^(?:{g['features'].format(**fields)})$") for g in groups]
    named = [re.compile(f"^(?:{n['pattern']})$") for n in names if n["pattern"] != f"{PREFIX}.+"]
    new_groups, new_names = [], []
    for attribute in customer_attributes(customer_columns):
        feature = attribute.feature
        if not any(p.match(feature) for p in covered):
            new_groups.append(_group(attribute))
        if not any(p.match(feature) for p in named):
            new_names.append(_name(attribute))
    if not new_groups and not new_names:
        return tiering
    generic = next((i for i, n in enumerate(names) if n["pattern"] == f"{PREFIX}.+"), len(names))
    names[generic:generic] = new_names
    return dataclasses.replace(
        tiering, reasons={**reasons, "groups": groups + new_groups, "names": names}
    )


def words(attribute: Attribute) -> dict[str, str]:
    """The attribute's words: configured, else its name in plain words (en) and the user's column
    (zh: usually the column's own Chinese header)."""
    en = attribute.en or attribute.name.replace("_", " ")
    return {"en": en, "zh": attribute.zh or attribute.column or en}


def _escaped(text: str) -> str:
    """Literal text inside a phrase template (braces are the template's)."""
    return text.replace("{", "{{").replace("}", "}}")


def _group(attribute: Attribute) -> dict:
    said = {k: _escaped(v) for k, v in words(attribute).items()}
    feature = attribute.feature
    phrases = []
    for phrase in [*_PHRASES[attribute.type], _NOT_RECORDED]:
        filled = {k: v.format(f=feature, **said) for k, v in phrase.items()}
        phrases.append(filled)
    return {
        "key": f"attribute_{attribute.name}",
        "features": re.escape(feature),
        "phrases": phrases,
    }


def _name(attribute: Attribute) -> dict:
    said = words(attribute)
    en, zh = said["en"][:1].upper() + said["en"][1:], said["zh"]
    if attribute.type == "date":
        en, zh = f"{en} (days ago)", f"{zh}（距今天数）"
    return {"pattern": re.escape(attribute.feature), "en": _escaped(en), "zh": _escaped(zh)}
