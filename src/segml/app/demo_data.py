"""The subscription demo's files (`segml generate --shape subscription`): the messy export of a
telecom-like operator written where conf/paths expects it, with the headers conf/data maps
(`conf/data/subscription_demo.yaml` and `conf/paths/subscription_demo.yaml`, which
`subscription_overrides` selects)."""

from __future__ import annotations

from segml.config import Config
from segml.data import io

SUBSCRIPTION = "subscription"  # the shape
# the config groups the shape's files are mapped by (conf/data) and written to (conf/paths: its own
# customer table and ground truth beside the transaction demo's)
SUBSCRIPTION_GROUPS = {"data": "subscription_demo", "paths": "subscription_demo"}


def subscription_overrides(overrides: list[str] | None) -> list[str]:
    """The overrides with the subscription demo's groups, except those they pick themselves."""
    overrides = list(overrides or [])
    chosen = {o.lstrip("+~").split("=", 1)[0] for o in overrides if "=" in o}
    groups = [
        f"{group}={name}" for group, name in SUBSCRIPTION_GROUPS.items() if group not in chosen
    ]
    return [*groups, *overrides]


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
