"""The salt: its fingerprint (never the salt) goes into params.yaml; no salt, no run."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from segml.app.params import check_fresh, compose, write_params
from segml.config import ExportConfig, export_salt, salt_fingerprint
from segml.errors import ConfigError
from segml.reporting.privacy import pseudonymize, restore_ids
from tests.conftest import ROOT

ON = ["export.pseudonymize_ids=true"]


def test_compose_writes_the_salt_fingerprint_only_when_pseudonymising(monkeypatch):
    monkeypatch.setenv("SEGML_ID_SALT", "pepper")
    raw = compose(ON, conf_dir=ROOT / "conf")
    assert raw["export"]["salt_fingerprint"] == salt_fingerprint("pepper")
    assert len(salt_fingerprint("pepper")) == 12 and salt_fingerprint("pepper") != salt_fingerprint(
        "paprika"
    )
    assert "pepper" not in yaml.safe_dump(raw, allow_unicode=True)
    assert compose([], conf_dir=ROOT / "conf")["export"]["salt_fingerprint"] is None


def test_no_salt_stops_composition_naming_the_variable(monkeypatch):
    monkeypatch.delenv("SEGML_ID_SALT", raising=False)
    with pytest.raises(ConfigError, match="SEGML_ID_SALT"):
        compose(ON, conf_dir=ROOT / "conf")
    monkeypatch.setenv("MY_SALT", "pepper")  # the variable's name is a setting too
    assert compose([*ON, "export.salt_env=MY_SALT"], conf_dir=ROOT / "conf")["export"][
        "salt_fingerprint"
    ]


def test_export_salt_checks_the_fingerprint(monkeypatch):
    cfg = ExportConfig(pseudonymize_ids=True, salt_fingerprint=salt_fingerprint("pepper"))
    monkeypatch.setenv("SEGML_ID_SALT", "pepper")
    assert export_salt(cfg) == "pepper"
    assert export_salt(ExportConfig()) is None  # pseudonymisation off: no salt needed
    monkeypatch.setenv("SEGML_ID_SALT", "paprika")
    with pytest.raises(ConfigError, match=r"SEGML_ID_SALT.*segml run"):
        export_salt(cfg)
    monkeypatch.delenv("SEGML_ID_SALT")
    with pytest.raises(ConfigError, match="SEGML_ID_SALT"):
        export_salt(cfg)


def test_a_new_salt_makes_params_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGML_ID_SALT", "pepper")
    params = tmp_path / "params.yaml"
    write_params(compose(ON, conf_dir=ROOT / "conf"), params, overrides=ON)
    check_fresh(params, ROOT / "conf")  # same salt: fresh
    monkeypatch.setenv("SEGML_ID_SALT", "paprika")
    with pytest.raises(ConfigError, match="SEGML_ID_SALT differs"):
        check_fresh(params, ROOT / "conf")


def test_restore_ids_maps_known_pseudonyms_back():
    logged = pseudonymize(pd.Series(["0000001", "0000003"]), "pepper")
    restored = restore_ids(logged, pd.Series(["0000001", "0000002"]), "pepper")
    assert restored.tolist() == [
        "0000001",
        logged.iloc[1],
    ]  # 0000003 is not known today: stays a pseudonym
    assert restore_ids(logged, pd.Series(["0000001"]), None).tolist() == logged.tolist()


def test_pseudonyms_are_stable_per_salt_and_differ_across_salts():
    ids = pd.Series(["001", "002", "001"])
    first, again, other = pseudonymize(ids, "s1"), pseudonymize(ids, "s1"), pseudonymize(ids, "s2")
    assert first.tolist() == again.tolist() and first[0] == first[2] and first[0] != first[1]
    assert not set(first) & set(other)
    assert all(re.fullmatch("[0-9a-f]{16}", v) for v in first)
