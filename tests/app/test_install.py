"""`make install` (and so `make demo`) is quiet unless installing fails: the installers' lines go
to logs/install.log, which is printed when they fail. Run on the real Makefile with stand-in
installers (no network, no packages)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from tests.conftest import ROOT

CHATTY = 'for i in $(seq 207); do echo " + package-$i==1.0"; done\n'


def fake(path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.slow  # starts make and an installer
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("fails", [False, True])
def test_installing_is_quiet_unless_it_fails(tmp_path, fails):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in ("requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_text("", encoding="utf-8")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    fake(bin_dir / "python", CHATTY)  # pip installing uv
    fake(bin_dir / "uv", CHATTY + ("echo 'error: no such package' >&2; exit 1\n" if fails else ""))
    # as a user runs it from a shell: not as a sub-make of `make test` (which would print
    # "make[1]: Entering directory" lines)
    shell = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(
        ["make", "install"], cwd=tmp_path, capture_output=True, text=True, env=shell
    )
    printed = done.stdout + done.stderr
    logged = (tmp_path / "logs" / "install.log").read_text(encoding="utf-8")
    assert "+ package-207==1.0" in logged
    if fails:
        assert done.returncode != 0
        assert "error: no such package" in printed and "logs/install.log" in printed
        assert not (tmp_path / ".venv" / ".installed-stamp").exists()
    else:
        assert done.returncode == 0, printed
        assert "+ package" not in printed and printed.count("\n") <= 1, printed
        assert (tmp_path / ".venv" / ".installed-stamp").exists()
