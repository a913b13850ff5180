"""Pseudonyms for customer ids: one function for every output (exports, MLflow, movement)."""

from __future__ import annotations

import hashlib

import pandas as pd


def pseudonymize(ids: pd.Series, salt: str) -> pd.Series:
    """Stable salted SHA-256 pseudonyms (16 hex chars): same salt, same id -> same pseudonym."""
    return ids.astype(str).map(lambda v: hashlib.sha256(f"{salt}\x1f{v}".encode()).hexdigest()[:16])


def restore_ids(ids: pd.Series, known: pd.Series, salt: str | None) -> pd.Series:
    """Replace pseudonyms of `known` clear ids by those ids; anything else is left as it is.

    A previous run logged with pseudonyms can then be compared with today's clear ids (same salt).
    """
    if not salt or len(ids) == 0:
        return ids
    known = pd.Series(known.astype(str).unique())
    clear_by_pseudonym = dict(zip(pseudonymize(known, salt), known))
    return ids.astype(str).map(lambda v: clear_by_pseudonym.get(v, v))
