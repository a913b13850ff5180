"""The parts of a project with both exports (`data.kind: both`): one kind's population each, and
each part's view of the config. Small on purpose: every stage reads it, none should load prepare's
readers for it."""

from __future__ import annotations

from dataclasses import replace

from segml.config import Config

PARTS = ("subscriptions", "transactions")  # scored in this order; a customer is in one part


def part_config(cfg: Config, part: str) -> Config:
    """One part's view of a `both` project's config: the same settings, `data.kind` the part."""
    return replace(cfg, data=replace(cfg.data, kind=part))
