"""The subscription demo's files (`segml generate --shape subscription`): the messy export of a
telecom-like operator written where conf/paths expects it, with the headers conf/data maps
(`conf/data/subscription_demo.yaml` and `conf/paths/subscription_demo.yaml`, which
`subscription_overrides` selects)."""

from __future__ import annotations

from segml.config import Config
from segml.data import io

SUBSCRIPTION = "subscription"  # the shape
BOTH = "both"  # both exports: subscriptions and purchases (data.kind: both)
# the config groups the shape's files are mapped by (conf/data) and written to (conf/paths: its own
# customer table and ground truth beside the transaction demo's)
SUBSCRIPTION_GROUPS = {"data": "subscription_demo", "paths": "subscription_demo"}
SHAPE_GROUPS = {
    SUBSCRIPTION: SUBSCRIPTION_GROUPS,
    BOTH: {"data": "both_demo", "paths": "both_demo"},
}


def subscription_overrides(overrides: list[str] | None, shape: str = SUBSCRIPTION) -> list[str]:
    """The overrides with the shape's groups (the subscription or both-exports demo's), except
    those they pick themselves; other shapes: the overrides as given."""
    overrides = list(overrides or [])
    chosen = {o.lstrip("+~").split("=", 1)[0] for o in overrides if "=" in o}
    wanted = SHAPE_GROUPS.get(shape, {})
    groups = [f"{group}={name}" for group, name in wanted.items() if group not in chosen]
    return [*groups, *overrides]


def write_subscription_demo(cfg: Config, customers: int, seed: int, start: str, end: str) -> str:
    """Generate the demo and write its four tables and the hidden truth; what was written, in
    words."""
    from segml.data.generate_subscriptions import generate
    from segml.data.subscription_export import export_tables, with_headers

    demo = generate(customers, start, end, seed)
    return _write_tables(cfg, with_headers(export_tables(demo, seed), cfg.data), demo.truth)


def write_both_demo(cfg: Config, customers: int, seed: int, start: str, end: str) -> str:
    """The both-exports demo (`generate_both`): about `customers` in all, three in five of them
    subscribers; its five tables and the hidden truth; what was written, in words."""
    from segml.data.generate_both import generate
    from segml.data.subscription_export import export_tables, with_headers

    demo = generate(customers * 3 // 5, customers // 2, start, end, seed)
    tables = with_headers(export_tables(demo.subscriptions, seed), cfg.data)
    mapping = {k: v for k, v in cfg.data.columns.items() if v}
    tables["transactions"] = demo.transactions.rename(columns=mapping)
    return _write_tables(cfg, tables, demo.truth)


def _write_tables(cfg: Config, tables: dict, truth) -> str:
    """Each table where conf/paths expects it (the customer table in its own encoding)."""
    paths = cfg.paths
    files = {
        "subscriptions": paths.raw_subscriptions,
        "payments": paths.raw_payments,
        "usage": paths.raw_usage,
        "customers": paths.raw_customers,
    }
    if "transactions" in tables:
        files["transactions"] = paths.raw_transactions
    encoding = {name: cfg.data.encoding for name in files}
    encoding["customers"] = cfg.data.customers_encoding or cfg.data.encoding
    for name, path in files.items():
        io.write_csv(tables[name], path, encoding=encoding[name])
    io.write_csv(truth, paths.ground_truth)
    rows = ", ".join(f"{len(tables[name]):,} {name} rows to {path}" for name, path in files.items())
    return f"wrote {rows}, truth to {paths.ground_truth}"
