"""Subscribers' rules and phrases name features that exist (data.kind: subscriptions), checked when
the config is composed and again when the tier stage starts.

A lifecycle rule (`tiering.lifecycle_subscription.rules`) or a reason phrase
(`tiering.reasons.groups`) naming a feature the subscriber features do not build never holds, and
nothing says so: `failed_payments_60d` is built only while 60 is one of
`features.subscriptions.payment_windows`. This stops with the setting, the name and what to do.
The names come from `segml.features.subscriber_names` (the windows configured), the facts the
reasons add (`seams.SUBSCRIBER_FACTS`) and the customer attributes `data.customer_columns` maps.
"""

from __future__ import annotations

import re

from segml.config import Config
from segml.data.attributes import customer_attributes
from segml.errors import ConfigError
from segml.features.subscriber_names import KIND, made_by, subscriber_features
from segml.features.subscription_settings import Settings
from segml.tiering.behaviour import RANKED, facts_context
from segml.tiering.reasons import Condition, Template
from segml.tiering.seams import SUBSCRIBER_FACTS
from segml.tiering.usage_words import usage_words

NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def settings_of(cfg: Config) -> Settings:
    """`features.subscriptions` read as the features stage reads it; an unknown key stops here."""
    try:
        return Settings.of(cfg.features)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{exc} (conf/features, docs/design-subscriptions.md section 3)") from exc


def check_subscriber_names(cfg: Config) -> None:
    """For `data.kind: subscriptions`: `features.subscriptions` has only known keys, the usage
    kinds' words are {en, zh}, and every feature a lifecycle rule or a reason phrase of a subscriber
    behaviour names is built (or a fact the reasons add); stops with a ConfigError naming the
    setting, the feature and what to do. Transactions: nothing to check."""
    if cfg.data.kind not in ("subscriptions", "both"):  # both: its subscribers' rules and phrases
        return
    settings = settings_of(cfg)
    usage_words(cfg.data.usage)
    built = subscriber_features(settings)
    attributes = [a.feature for a in customer_attributes(cfg.data.customer_columns)]
    features = [*built, *attributes]
    # a usage feature of any kind: `usage_90d__<kind>` stands for `usage_90d__流量GB`
    named = re.compile("|".join(re.escape(f).replace(re.escape(KIND), ".+") for f in features))
    facts = {*SUBSCRIBER_FACTS, *(f"{n}_percentile" for n in RANKED), *facts_context(0, 0, 0)}

    def known(name: str, more: set) -> bool:
        return name in more or named.fullmatch(name) is not None

    rules = cfg.tiering.lifecycle_subscription.get("rules", [])
    for i, rule in enumerate(rules):
        for name in _condition_facts(rule.get("when")):
            if not known(name, {"churn_probability"}):
                _missing(f"tiering.lifecycle_subscription.rules[{i}]", name, settings, built)
    fields = {"value_window_days": cfg.tiering.value_window_days}
    for group in cfg.tiering.reasons.get("groups", []):
        pattern = re.compile(f"^(?:{group['features'].format(**fields)})$")
        if not any(pattern.match(f) for f in features):
            continue  # a purchase behaviour: its phrases never speak of subscribers
        for phrase in group.get("phrases", []):
            for name in _phrase_facts(phrase):
                if not known(name, facts):
                    _missing(f"tiering.reasons.groups[{group['key']}]", name, settings, built)
    fallback = cfg.tiering.reasons.get("fallback") or []
    if fallback and not any(all(known(n, facts) for n in _phrase_facts(p)) for p in fallback):
        raise ConfigError(
            "tiering.reasons.fallback: no entry can be said of subscribers (each names a purchase "
            "fact): add one naming subscriber features, e.g. 'subscribed since {first_purchase}, "
            "¥{mrr:,.0f} a month'."
        )


def _condition_facts(when) -> list[str]:
    texts = [] if when is None else [when] if isinstance(when, str) else list(when)
    names = []
    for text in texts:
        condition = Condition.parse(text)
        names += [condition.left] + ([] if NUMBER.fullmatch(condition.right) else [condition.right])
    return names


def _phrase_facts(phrase: dict) -> set[str]:
    """The facts a phrase names: in its conditions and in its texts."""
    fields = {f for language in ("en", "zh") for f in Template(phrase.get(language, "")).fields}
    return {*_condition_facts(phrase.get("when")), *fields}


def _missing(where: str, name: str, settings: Settings, built: list[str]) -> None:
    setting = made_by(name)
    if setting is None:
        raise ConfigError(
            f"{where} names `{name}`, which is no subscriber feature, reason fact or mapped "
            "customer attribute: the rule or phrase would never hold. Use one of "
            f"{', '.join(n.replace(KIND, '*') for n in built)} (docs/design-subscriptions.md "
            "sections 5 and 10), or map the attribute in data.customer_columns."
        )
    key = setting.split()[0]
    alike = [n.replace(KIND, "*") for n in built if made_by(n) == setting]
    raise ConfigError(
        f"{where} names `{name}`, which the subscriber features do not build: "
        f"features.subscriptions.{key} = {_listed(getattr(settings, key))} builds "
        f"{', '.join(alike)}. Add its days to features.subscriptions.{key}, or name a built "
        "feature in conf/tiering; as it is, the rule or phrase would never hold."
    )


def _listed(value) -> str:
    return str(list(value)) if isinstance(value, tuple | list) else str(value)
