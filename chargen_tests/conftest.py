"""Shared fixtures live in chargen_tests/fixtures/, one module per real service we start."""

import pytest

# A module another one imports is listed first: pytest rewrites a plugin's asserts only when it
# is the first to import it.
pytest_plugins = [
    "chargen_tests.fixtures.emulator",
    "chargen_tests.fixtures.s3",
    "chargen_tests.fixtures.warm_cli",
    "chargen_tests.fixtures.project",
    "chargen_tests.fixtures.platform",
    "chargen_tests.fixtures.postgres",
    "chargen_tests.fixtures.production",
    "chargen_tests.fixtures.containers",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The end-to-end tests first: each takes a minute or two of waiting on servers, and when
    they came last (xdist's default puts files of many tests first) one worker finished them
    alone while the other stood idle. `make test` keeps this order (--no-loadscope-reorder)."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is None)
