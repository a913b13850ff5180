"""Provenance: what a run was made from, to tag it with (input file digests, the git commit)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def input_paths(path: str | Path) -> list[Path]:
    """The files an input names: a file, or a folder's or a glob's exports (`files.input_files`,
    stray files left out); none when nothing is there, or no path is given ("": no customer file;
    as a Path it would name the current folder)."""
    from segml.data.files import input_exists, input_files
    from segml.errors import InputError

    if not str(path) or not input_exists(path):
        return []
    try:
        return [file for file, _ in input_files(path, "csv").files]
    except InputError:  # a folder without an export: nothing to digest
        return []


def file_digest(*paths: str | Path) -> str:
    """SHA-256 over the bytes of existing files (streamed; a folder's or a glob's exports in
    name order), to tag runs with their input data."""
    digest = hashlib.sha256()
    for path in (file for given in paths for file in input_paths(given)):
        path = Path(path)
        if path.exists():
            digest.update(path.name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def git_commit() -> str:
    """The checked-out commit (with '-dirty' when files differ), or 'unknown' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
