"""The subscription demo's files (`segml generate --shape subscription`): the messy export of a
telecom-like operator written where conf/paths expects it, with the headers conf/data maps
(`conf/data/subscription_demo.yaml`, which `SUBSCRIPTION_DATA` selects)."""

from __future__ import annotations

from segml.config import Config
from segml.data import io

SUBSCRIPTION = "subscription"  # the shape
SUBSCRIPTION_DATA = "data=subscription_demo"  # the config group the shape's files are mapped by


def subscription_overrides(overrides: list[str] | None) -> list[str]:
    """The overrides with the subscription demo's data settings, unless they pick their own."""
    overrides = list(overrides or [])
    if any(o.lstrip("+~").startswith("data=") for o in overrides):
        return overrides
    return [SUBSCRIPTION_DATA, *overrides]


def write_subscription_demo(cfg: Config, customers: int, seed: int, start: str, end: str) -> str:
    """Generate the demo and write its four tables and the hidden truth; what was written, in
    words."""
    from segml.data.generate_subscriptions import generate
    from segml.data.subscription_export import export_tables, with_headers

    demo = generate(customers, start, end, seed)
    tables = with_headers(export_tables(demo, seed), cfg.data)
    paths = cfg.paths
    files = {
        "subscriptions": paths.raw_subscriptions,
        "payments": paths.raw_payments,
        "usage": paths.raw_usage,
        "customers": paths.raw_customers,
    }
    encoding = {name: cfg.data.encoding for name in files}
    encoding["customers"] = cfg.data.customers_encoding or cfg.data.encoding
    for name, path in files.items():
        io.write_csv(tables[name], path, encoding=encoding[name])
    io.write_csv(demo.truth, paths.ground_truth)
    rows = ", ".join(f"{len(tables[name]):,} {name} rows to {path}" for name, path in files.items())
    return f"wrote {rows}, truth to {paths.ground_truth}"
