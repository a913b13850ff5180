"""Config composition: every group composes, overrides apply, typos fail, stale params are refused."""

from __future__ import annotations

import shutil

import pytest
import yaml

from segml.config import ConfigError, check_fresh, compose, load_config, to_typed, write_params

from conftest import ROOT

GROUPS = ("paths", "data", "labels", "features", "segment", "churn", "upside", "tiering", "export", "tracking")


def test_default_config_composes_and_types(cfg):
    for group in GROUPS:
        assert getattr(cfg, group) is not None
    assert cfg.labels.horizon_days == 90
    assert cfg.paths.raw_transactions == "data/raw/transactions.csv"  # interpolation resolved
    assert cfg.tiering.primary in ("abc", "pyramid", "value_potential")


def test_value_and_group_overrides():
    raw = compose(["labels.horizon_days=60", "tiering.primary=pyramid", "segment.k=5"], ROOT / "conf")
    typed = to_typed(raw)
    assert (typed.labels.horizon_days, typed.tiering.primary, typed.segment.k) == (60, "pyramid", 5)


def test_typo_in_config_is_caught():
    raw = compose([], ROOT / "conf")
    raw["labels"]["horizon_dayz"] = 30
    with pytest.raises(ConfigError, match="horizon_dayz"):
        to_typed(raw)


def test_every_policy_has_actions_for_every_grade(cfg):
    actions = cfg.tiering.actions
    assert set(actions["abc"]) == set(cfg.tiering.abc["labels"])
    assert set(actions["pyramid"]) == set(cfg.tiering.pyramid["labels"])
    strategies = {cell["strategy"] for cell in cfg.tiering.value_potential["cells"].values()}
    assert strategies <= set(actions["value_potential"])
    assert set(actions["lifecycle"]) == {"new", "active", "at_risk", "lost"}
    for grades in actions.values():
        for action in grades.values():
            assert action["en"] and action["zh"] and action["team"]


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_params_round_trip_with_overrides(project):
    overrides = ["labels.horizon_days=45"]
    write_params(compose(overrides), overrides=overrides)
    assert load_config().labels.horizon_days == 45


def test_edited_conf_makes_params_stale(project):
    write_params(compose())
    path = project / "conf" / "churn" / "default.yaml"
    churn = yaml.safe_load(path.read_text(encoding="utf-8"))
    churn["calibration"] = "isotonic"
    path.write_text(yaml.safe_dump(churn), encoding="utf-8")
    with pytest.raises(ConfigError, match="churn.calibration"):
        check_fresh()


def test_inside_dvc_exp_run_params_are_trusted(project, monkeypatch):
    write_params(compose())
    (project / "conf" / "config.yaml").write_text(
        (project / "conf" / "config.yaml").read_text(encoding="utf-8").replace("seed: 42", "seed: 7"), encoding="utf-8")
    monkeypatch.setenv("DVC_EXP_NAME", "exp-test")
    check_fresh()  # DVC composed params.yaml itself for this experiment


def test_committed_params_yaml_matches_conf():
    """params.yaml in git is what conf/ composes to, so a fresh clone never starts stale."""
    check_fresh(ROOT / "params.yaml", ROOT / "conf")


def test_as_of_must_be_a_date():
    raw = compose(["as_of=2025-13-01"], ROOT / "conf")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        to_typed(raw)
    assert to_typed(compose(["as_of=2025-12-31"], ROOT / "conf")).as_of == "2025-12-31"
