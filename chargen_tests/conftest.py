"""Shared fixtures live in chargen_tests/fixtures/, one module per real service we start."""

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
