"""Demo projects, each built once per test session and copied: one copy per test worker to read,
one per test that changes a project."""

from __future__ import annotations

import os

import pytest

from tests.e2e.project import DEMO, DemoSpec, built_once, copy_built


@pytest.fixture(scope="session")
def built_project(tmp_path_factory):
    """`built_project(spec)`: the spec's project, built once for the whole session (all xdist
    workers share it; the first to ask builds it). Read-only: tests use `copy_built` of it."""
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "built"

    def build(spec: DemoSpec):
        return built_once(spec, shared)

    return build


@pytest.fixture(scope="session")
def demo_project(built_project, tmp_path_factory):
    """1,500 generated customers through every stage, this worker's copy; never changed by a test
    (read it only). The first run's tier table and what it printed are kept beside it in
    `first_run/`."""
    return copy_built(built_project(DEMO), tmp_path_factory.mktemp("demo"))


@pytest.fixture()
def project_copy(demo_project, tmp_path):
    """A copy of the demo project, after its first run, for a test to change."""
    return copy_built(demo_project, tmp_path)
