"""params.yaml: written from conf/ with its overrides and a digest of its inputs, read back typed,
and refused when conf/ (or the salt) says something else."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from segml.app.params import (
    check_fresh,
    compose,
    conf_digest,
    load_config,
    write_params,
)
from segml.config import recorded_overrides
from segml.errors import ConfigError
from tests.conftest import ROOT


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


def test_composing_again_reuses_hydras_work_until_conf_changes(project, monkeypatch):
    import hydra

    first = compose(["seed=7"])
    runs = []
    real = hydra.compose
    monkeypatch.setattr(hydra, "compose", lambda *a, **k: runs.append(a) or real(*a, **k))
    again = compose(["seed=7"])
    assert again == first and not runs  # the same conf/ and overrides: Hydra not run again
    again["churn"]["calibration"] = "changed by a caller"
    assert compose(["seed=7"]) == first  # each caller gets its own copy
    path = project / "conf" / "churn" / "default.yaml"
    churn = yaml.safe_load(path.read_text(encoding="utf-8"))
    churn["calibration"] = "isotonic"
    path.write_text(yaml.safe_dump(churn), encoding="utf-8")
    assert compose(["seed=7"])["churn"]["calibration"] == "isotonic" and len(runs) == 1


def test_fresh_params_are_known_by_their_digest_and_a_hand_edit_is_not(project, monkeypatch):
    write_params(compose())

    def composing(*args, **kwargs):
        raise AssertionError("composed again")

    with monkeypatch.context() as patch:
        patch.setattr("segml.app.params.compose", composing)
        check_fresh()  # conf/, overrides, salt and text unchanged: no Hydra run needed
    params = project / "params.yaml"
    params.write_text(
        params.read_text(encoding="utf-8").replace("seed: 42", "seed: 7"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="first difference at `seed`"):
        check_fresh()


def _set_seed(conf: Path, seed: int) -> None:
    path = conf / "config.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^seed: \d+", f"seed: {seed}", text), encoding="utf-8")


def test_an_edit_saved_while_composing_leaves_params_stale(project):
    before = conf_digest()
    raw = compose()  # Hydra takes a few seconds; the user saves an edit meanwhile
    _set_seed(project / "conf", 7)
    write_params(raw, conf_state=before)
    with pytest.raises(ConfigError, match="first difference at `seed`"):
        check_fresh()


def test_an_edit_inside_a_symlinked_conf_folder_is_seen(project):
    shutil.move(project / "conf", project / "shared")
    (project / "conf").symlink_to(project / "shared", target_is_directory=True)
    (project / "shared" / "churn").rename(project / "churn")
    (project / "conf" / "churn").symlink_to(project / "churn", target_is_directory=True)
    write_params(compose())
    path = project / "churn" / "default.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^calibration: \w+", "calibration: isotonic", text), "utf-8")
    with pytest.raises(ConfigError, match="churn.calibration"):
        check_fresh()


def test_inside_dvc_exp_run_params_are_trusted(project, monkeypatch):
    write_params(compose())
    (project / "conf" / "config.yaml").write_text(
        (project / "conf" / "config.yaml")
        .read_text(encoding="utf-8")
        .replace("seed: 42", "seed: 7"),
        encoding="utf-8",
    )
    monkeypatch.setenv("DVC_EXP_NAME", "exp-test")
    check_fresh()  # DVC composed params.yaml itself for this experiment


def test_committed_params_yaml_matches_conf():
    """params.yaml in git is what conf/ composes to, so a fresh clone never starts stale."""
    check_fresh(ROOT / "params.yaml", ROOT / "conf")


# Overrides users type: quotes, Chinese, long values. The comment recording them must stay one
# line, or the file stops being YAML ("YAML file structure is corrupted" in DVC).
AWKWARD_OVERRIDES = [
    'data.timestamp_format="%Y年%m月%d日"',
    "data.delimiter=';'",
    'paths.raw_transactions="' + "/共享盘/客户分级/月度导出/" * 6 + '交易明细 (含退款).csv"',
    'data.currency_symbols=["¥","元","RMB"]',
]


def test_awkward_overrides_round_trip_through_params_yaml(project):
    write_params(compose(AWKWARD_OVERRIDES), overrides=AWKWARD_OVERRIDES)
    text = (project / "params.yaml").read_text(encoding="utf-8")
    comment = [line for line in text.splitlines() if line.startswith("# overrides:")]
    assert len(comment) == 1 and len(comment[0]) > 200  # long, and still one line
    assert all(line.startswith("#") for line in text.splitlines()[:2])
    yaml.safe_load(text)  # the whole file parses
    assert recorded_overrides(project / "params.yaml") == AWKWARD_OVERRIDES
    cfg = load_config()  # composes the recorded overrides again: they must match
    assert (cfg.data.timestamp_format, cfg.data.delimiter) == ("%Y年%m月%d日", ";")
    assert cfg.data.currency_symbols == ["¥", "元", "RMB"]


def test_dvc_reads_params_written_with_awkward_overrides(project):
    from dvc.repo import Repo

    write_params(compose(AWKWARD_OVERRIDES), overrides=AWKWARD_OVERRIDES)
    (project / "dvc.yaml").write_text(
        "stages:\n  show:\n    cmd: echo '${data.timestamp_format}'\n"
        "    params:\n      - data.delimiter\n",
        encoding="utf-8",
    )
    repo = Repo.init(str(project), no_scm=True)
    try:
        (stage,) = repo.index.stages  # DVC parses params.yaml to resolve the template
        assert stage.cmd == "echo '%Y年%m月%d日'"
        (params,) = [dep for dep in stage.deps if dep.def_path == "params.yaml"]
        assert params.read_params() == {"data.delimiter": ";"}
    finally:
        repo.close()


@pytest.mark.parametrize(
    "value", ["a\nb", "tab\there", "line\u2028sep", "next\x85line", "q\"uo'te", "x" * 500]
)
def test_overrides_comment_is_one_line_whatever_the_text(project, value):
    write_params({"seed": 1}, overrides=[value])
    lines = (project / "params.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("# overrides:") and lines[2].startswith("# inputs:")
    assert lines[3] == "seed: 1"
    assert recorded_overrides(project / "params.yaml") == [value]


def test_phrase_tables_live_in_conf_words_not_in_params(project, monkeypatch):
    """params.yaml holds the settings; the phrase tables of conf/words/ come back in the config
    every stage loads (from the project's conf/words/, wherever it is run from), and an edited
    phrase is read without composing again."""
    from segml.config import to_typed

    write_params(compose())
    text = (project / "params.yaml").read_text(encoding="utf-8")
    on_disk = yaml.safe_load(text.split("\n", 3)[3])
    assert "groups" not in on_disk["tiering"]["reasons"] and "headers" not in on_disk["export"]
    assert on_disk["tiering"]["reasons"]["top_n"] == 3  # the reasons' settings stay
    loaded = load_config()
    assert loaded == to_typed(compose())
    assert loaded.export.headers["customer_id"]["zh"] == "客户编号"
    headers = project / "conf" / "words" / "headers.yaml"
    headers.write_text(
        headers.read_text(encoding="utf-8").replace("客户编号", "会员编号"), encoding="utf-8"
    )
    monkeypatch.chdir(project / "conf")  # a notebook's folder, say
    edited = load_config(project / "params.yaml", check=False)
    assert edited.export.headers["customer_id"]["zh"] == "会员编号"


def test_a_phrase_table_set_twice_stops_naming_it(project):
    """conf/words/ fills a setting; the same setting in a group's file too (a conf/ copied from
    before the tables moved) stops composing, naming it."""
    path = project / "conf" / "export" / "default.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + "headers:\n  customer_id: {en: Id, zh: 编号}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"`export.headers` is set twice.*conf/words"):
        compose()
