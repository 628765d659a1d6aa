"""Every character is a partition of this one dynamic partition set, and at most so many of
them go in one run."""

import os
from collections.abc import Sequence

import dagster as dg

CHARACTERS = "characters"
characters = dg.DynamicPartitionsDefinition(name=CHARACTERS)


def whole_number_setting(variable: str, default: int, meaning: str) -> int:
    """A setting from the environment, at least 1; a wrong one names itself and the fix."""
    given = os.environ.get(variable, str(default))
    try:
        value = int(given)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"{variable} is {given!r}: it is {meaning}, so it must be a whole number of 1 or "
            f"more (default {default})."
        )
    return value


# Characters in one run that a sensor or a backfill launches. Creating a run, in the daemon and
# before the run can start, Dagster records a planned materialization per character and stage
# (about 85-90 ms per character on Postgres here, README "Scale") and, for each check, a row per
# character that holds the whole run's list of characters (quadratic: nearly 2 GB a check at
# 10,000). A run of 10,000 would hold the daemon for a quarter of an hour; one of 1,000 starts
# after a minute and a half, the next ones while the first works (each one batch job a stage).
MAX_CHARACTERS_PER_RUN = whole_number_setting(
    "CHARGEN_MAX_CHARACTERS_PER_RUN",
    1000,
    "the most characters one run a sensor or a backfill launches may take",
)


def character_asset_spec(
    name: str,
    *,
    code_version: str,
    kinds: set[str],
    description: str,
    upstream: Sequence[dg.AssetKey] = (),
) -> dg.AssetSpec:
    """A per-character asset of the pipeline step: partitioned, grouped, materialized by us."""
    return dg.AssetSpec(
        name,
        deps=list(upstream),
        partitions_def=characters,
        code_version=code_version,
        group_name="characters",
        # The step logs one materialization per character itself (see pipeline.py).
        skippable=True,
        kinds=kinds,
        description=description,
    )
