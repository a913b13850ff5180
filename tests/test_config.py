"""The typed config: every group composes and types, overrides apply, typos and unknown choices fail
at composition (params.yaml and freshness: tests/app/test_params.py)."""

from __future__ import annotations

import pytest

from segml.app.params import compose
from segml.config import TIER_POLICIES, to_typed
from segml.errors import ConfigError
from tests.conftest import ROOT

GROUPS = (
    "paths",
    "data",
    "labels",
    "features",
    "segment",
    "churn",
    "upside",
    "tiering",
    "export",
    "tracking",
)


def test_default_config_composes_and_types(cfg):
    for group in GROUPS:
        assert getattr(cfg, group) is not None
    assert cfg.labels.horizon_days == 90
    assert cfg.paths.raw_transactions == "data/raw/transactions.csv"  # interpolation resolved
    assert cfg.tiering.primary in ("abc", "pyramid", "value_potential")


def test_value_and_group_overrides():
    raw = compose(
        ["labels.horizon_days=60", "tiering.primary=pyramid", "segment.k=5"], ROOT / "conf"
    )
    typed = to_typed(raw)
    assert (typed.labels.horizon_days, typed.tiering.primary, typed.segment.k) == (60, "pyramid", 5)


def test_typo_in_config_is_caught():
    raw = compose([], ROOT / "conf")
    raw["labels"]["horizon_dayz"] = 30
    with pytest.raises(ConfigError, match="horizon_dayz"):
        to_typed(raw)


def test_an_unknown_setting_gets_a_did_you_mean_and_no_plus_advice():
    """`labels.horizon_dayz=60` named the fix Hydra suggests (`+labels...`), which then failed
    with "reference_type=LabelsConfig"; both now name the setting meant."""
    with pytest.raises(ConfigError) as error:
        compose(["labels.horizon_dayz=60"], ROOT / "conf")
    assert "Did you mean `labels.horizon_days`?" in str(error.value)
    assert "+labels" not in str(error.value)
    with pytest.raises(ConfigError, match="Did you mean `labels.horizon_days`"):
        compose(["labelz.horizon_days=60"], ROOT / "conf")
    with pytest.raises(ConfigError) as error:
        to_typed(compose(["+labels.horizon_dayz=60"], ROOT / "conf"))
    assert "Did you mean `labels.horizon_days`?" in str(error.value)
    assert "reference_type" not in str(error.value)


@pytest.mark.parametrize(
    "override, file",
    [
        ("tiering.reasons.groups=[]", "reasons.yaml"),
        ("export.headers.customer_id.zh='编号'", "headers.yaml"),
    ],
)
def test_overriding_a_phrase_table_names_the_file_to_edit(override, file):
    with pytest.raises(ConfigError) as error:
        compose([override], ROOT / "conf")
    assert "is a phrase table" in str(error.value)
    assert str(ROOT / "conf" / "words" / file) in str(error.value)


def test_an_unquoted_value_hydra_cannot_read_gets_a_hint_to_quote_it():
    with pytest.raises(ConfigError) as error:
        compose(["data.sheet=订单"], ROOT / "conf")
    assert "quote the value" in str(error.value) and "\"data.sheet='订单'\"" in str(error.value)
    assert to_typed(compose(["data.sheet='订单'"], ROOT / "conf")).data.sheet == "订单"


def test_every_policy_has_actions_for_every_grade(cfg):
    actions = cfg.tiering.actions
    assert set(actions["abc"]) == set(cfg.tiering.abc["labels"])
    assert set(actions["pyramid"]) == set(cfg.tiering.pyramid["labels"])
    strategies = {cell["strategy"] for cell in cfg.tiering.value_potential["cells"].values()}
    assert strategies <= set(actions["value_potential"])
    statuses = {
        "new",
        "active",
        "at_risk",
        "lost",
        "never_bought",
        "only_refunds",
        "only_free_orders",
        "all_rows_rejected",
    }
    assert set(actions["lifecycle"]) == statuses
    # subscribers' statuses (cancelled ones are listed apart): labels, and actions of their own
    subscriber = cfg.tiering.lifecycle_subscription
    own = {"trial", "past_due", "won_back", "cancelled", "never_subscribed"}
    assert {rule["status"] for rule in subscriber["rules"]} | {"cancelled"} <= statuses | own
    # their own statuses, and subscriber wording for new and at-risk (onboarding, contract offer)
    assert set(subscriber["actions"]) == own | {"new", "at_risk"}
    assert statuses | own == set(cfg.tiering.lifecycle["labels"])
    for action in subscriber["actions"].values():
        assert action["en"] and action["zh"] and action["team"] in cfg.tiering.teams
    assert {a["team"] for grades in actions.values() for a in grades.values()} <= set(
        cfg.tiering.teams
    )
    for grades in actions.values():
        for action in grades.values():
            assert action["en"] and action["zh"] and action["team"]


def test_as_of_must_be_a_date():
    raw = compose(["as_of=2025-13-01"], ROOT / "conf")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        to_typed(raw)
    assert to_typed(compose(["as_of=2025-12-31"], ROOT / "conf")).as_of == "2025-12-31"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("pyramd", "pyramid"), ("ABC", "abc"), ("value-potential", "value_potential")],
)
def test_unknown_tier_policy_fails_at_composition_with_a_did_you_mean(typed, meant):
    raw = compose([f"tiering.primary={typed}"], ROOT / "conf")
    with pytest.raises(ConfigError) as error:
        to_typed(raw)
    message = str(error.value)
    assert f"tiering.primary={typed!r}" in message and f"Did you mean {meant!r}?" in message
    assert str(list(TIER_POLICIES)) in message


def test_a_policy_name_far_from_any_is_refused_without_a_guess():
    with pytest.raises(ConfigError, match="is not a tier policy") as error:
        to_typed(compose(["tiering.primary=kmeans"], ROOT / "conf"))
    assert "Did you mean" not in str(error.value)


def test_every_tier_policy_has_its_settings_and_actions(cfg):
    """One list of policy names: each has its settings group and actions in conf/tiering."""
    for policy in TIER_POLICIES:
        assert getattr(cfg.tiering, policy), f"conf/tiering has no settings for {policy}"
        assert cfg.tiering.actions.get(policy), f"conf/tiering has no actions for {policy}"
        assert (
            to_typed(compose([f"tiering.primary={policy}"], ROOT / "conf")).tiering.primary
            == policy
        )


@pytest.mark.parametrize("shape", ["demo", "subscription_demo", "both_demo"])
def test_typing_sets_free_form_tables_aside_and_gives_what_omegaconf_gives(shape):
    """`to_typed` lets only the schema's typed settings through OmegaConf (segml.typed_merge): the
    result equals OmegaConf's merge of the whole config, and the composed dict is left as it was."""
    import copy

    from omegaconf import OmegaConf

    from segml.config import Config
    from segml.typed_merge import free_form_paths

    paths = "default" if shape == "demo" else shape
    raw = compose([f"data={shape}", f"paths={paths}"], ROOT / "conf")
    kept = copy.deepcopy(raw)
    whole = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), raw))
    assert to_typed(raw) == whole
    assert raw == kept
    assert ("tiering", "reasons") in free_form_paths(
        Config
    )  # the big tables are the ones set aside


@pytest.mark.parametrize(
    "key, value", [("reasons", ["not", "a", "table"]), ("abc", 5), ("actions", {1: "x"})]
)
def test_a_free_form_table_of_the_wrong_shape_still_fails_typing(key, value):
    raw = compose([], ROOT / "conf")
    raw["tiering"][key] = value
    with pytest.raises(ConfigError, match="Invalid configuration"):
        to_typed(raw)
