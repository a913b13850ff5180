"""`features.subscriptions`'s settings, apart from the builder (features.subscriptions) that reads
them: composing the config checks the names they make (segml.tiering.feature_names) without
loading the feature code."""

from __future__ import annotations

from dataclasses import dataclass

from segml.config import FeaturesConfig


@dataclass(frozen=True)
class Settings:
    """`features.subscriptions` (conf/features/default.yaml), with the design's defaults."""

    grace_days: int = 14  # a gap this short between spells is not a departure
    payment_windows: tuple[int, ...] = (60, 180)
    usage_windows: tuple[int, ...] = (30, 90)
    trend_days: int = 90
    revenue_windows: tuple[int, ...] = (90, 365)
    change_days: int = 365  # upgrades and downgrades counted over this many days
    mrr_change_days: int = 90
    dropped_days: int = 180

    @classmethod
    def of(cls, cfg: FeaturesConfig | None) -> Settings:
        given = dict(getattr(cfg, "subscriptions", None) or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"features.subscriptions: unknown keys {unknown}; use {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})
