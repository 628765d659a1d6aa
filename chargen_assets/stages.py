"""The pipeline's declared stages, in order: the one place that says which assets chargen has.

The pipeline step, the sensors, the catalog and the checks all take stage keys, code versions
and artifact types from here.
"""

from __future__ import annotations

import hashlib
from typing import Any

import dagster as dg

from chargen_assets import character_analysis, character_image, character_prompt, source_image
from chargen_assets.stage import Stage

PIPELINE: tuple[Stage[Any], ...] = (
    source_image.stage,
    character_analysis.stage,
    character_prompt.stage,
    character_image.stage,
)
IMAGE = character_image.spec.key
PIPELINE_KEYS: list[dg.AssetKey] = [stage.key for stage in PIPELINE]
CODE_VERSIONS: dict[dg.AssetKey, str] = {stage.key: stage.code_version for stage in PIPELINE}
# Changes whenever any stage's code version does (a template edit, a new request version).
CODE_FINGERPRINT = hashlib.sha256(
    "\n".join(
        f"{key.to_user_string()}={version}" for key, version in CODE_VERSIONS.items()
    ).encode()
).hexdigest()[:16]


def partition_of(asset: dg.AssetKey, character: str) -> str | None:
    """The partition of `asset` a character's result reads: the character's own for a stage,
    none for an input outside the pipeline (the cast's style, one for every character)."""
    return character if asset in PIPELINE_KEYS else None


def needed_by(key: dg.AssetKey) -> list[Stage[Any]]:
    """The stages that read `key`'s results (from the asset specs' dependencies)."""
    return [stage for stage in PIPELINE if key in stage.upstream]
