"""Every character is a partition of this one dynamic partition set."""

from collections.abc import Sequence

import dagster as dg

CHARACTERS = "characters"
characters = dg.DynamicPartitionsDefinition(name=CHARACTERS)


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
