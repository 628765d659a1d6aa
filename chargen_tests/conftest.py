"""Shared fixtures live in chargen_tests/fixtures/, one module per real service we start."""

pytest_plugins = [
    "chargen_tests.fixtures.emulator",
    "chargen_tests.fixtures.s3",
    "chargen_tests.fixtures.project",
    "chargen_tests.fixtures.platform",
    "chargen_tests.fixtures.postgres",
    "chargen_tests.fixtures.containers",
    "chargen_tests.fixtures.production",
]
