"""A data config copied from an older version lacks settings the DVC stages list as parameters:
`segml compose` names the setting, its default and the file to add it to, instead of DVC's
"Parameters ... are missing" from inside `dvc repro`."""

from __future__ import annotations

import shutil

import pytest

from segml.app.checks import checked
from segml.app.params import compose
from segml.errors import ConfigError
from tests.conftest import ROOT


@pytest.fixture()
def project(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "conf", tmp_path / "conf")
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def without(project, *keys: str) -> dict:
    path = project / "conf" / "data" / "demo.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(x for x in lines if not x.startswith(keys)), encoding="utf-8")
    return compose([], conf_dir=project / "conf")


def test_a_missing_stage_parameter_is_named_with_its_default(project):
    with pytest.raises(ConfigError) as found:
        checked(without(project, "usage:"))
    message = str(found.value)  # (the shipped configs pass: every `segml run` is checked)
    assert "`data.usage`" in message and "`usage: {}`" in message and "conf/data/" in message
    with pytest.raises(ConfigError, match=r"`data.as_of_past_end`.*`as_of_past_end: \"stop\"`"):
        checked(without(project, "as_of_past_end:"))
