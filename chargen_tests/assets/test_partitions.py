from __future__ import annotations

import os
import subprocess
import sys

import pytest

from chargen_assets.definitions import defs
from chargen_assets.partitions import MAX_CHARACTERS_PER_RUN


@pytest.mark.parametrize(
    ("given", "told"),
    [
        ("7", "7"),
        ("abc", "CHARGEN_MAX_CHARACTERS_PER_RUN is 'abc': it is the most characters one run"),
        ("0", "CHARGEN_MAX_CHARACTERS_PER_RUN is '0'"),
    ],
)
def test_the_run_size_comes_from_the_environment_and_a_wrong_one_names_itself(
    given: str, told: str
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from chargen_assets import partitions; print(partitions.MAX_CHARACTERS_PER_RUN)",
        ],
        env={**os.environ, "CHARGEN_MAX_CHARACTERS_PER_RUN": given},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert told in (done.stdout if done.returncode == 0 else done.stderr)


def test_a_backfill_is_cut_into_runs_of_the_same_size_as_a_sensors() -> None:
    policy = defs.resolve_assets_def("character_image").backfill_policy
    assert policy is not None and policy.max_partitions_per_run == MAX_CHARACTERS_PER_RUN
