"""Shared fixtures live in chargen_tests/fixtures/, one module per real service we start."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "chargen_tests.fixtures.emulator",
    "chargen_tests.fixtures.s3",
    "chargen_tests.fixtures.project",
    "chargen_tests.fixtures.platform",
    "chargen_tests.fixtures.postgres",
    "chargen_tests.fixtures.containers",
    "chargen_tests.fixtures.production",
]


# The two longest modules go first, one to each xdist worker (`make test` hands out whole files
# in collection order): the rest fills in around them instead of one starting last.
SLOWEST_FIRST = ("test_production_in_containers.py", "test_crash_safety.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)
