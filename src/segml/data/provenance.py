"""Provenance: what a run was made from, to tag it with (input file digests, the git commit)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def file_digest(*paths: str | Path) -> str:
    """SHA-256 over the bytes of existing files (streamed), to tag runs with their input data."""
    digest = hashlib.sha256()
    for path in paths:
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
