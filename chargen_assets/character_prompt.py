"""character_prompt: a deterministic, versioned compilation of each analysis into a prompt."""

from __future__ import annotations

from typing import Any

import dagster as dg

from chargen_assets.partitions import character_asset_spec
from chargen_resources.characters.prompt_compiler import DEFAULT_TEMPLATE, CompiledPrompt

# The template's fingerprint is this asset's code version: editing the template makes every
# character's prompt stale, and nothing else does.
CODE_VERSION = DEFAULT_TEMPLATE.fingerprint

spec = character_asset_spec(
    "character_prompt",
    code_version=CODE_VERSION,
    kinds={"python"},
    upstream=["character_analysis"],
    description=(
        f"The image prompt compiled from the analysis and character.yaml with prompt template "
        f"{DEFAULT_TEMPLATE.version}. No API call."
    ),
)


def metadata(prompt: CompiledPrompt, uri: str) -> dict[str, Any]:
    return {
        "prompt": dg.MetadataValue.text(prompt.text),
        "prompt_hash": prompt.prompt_hash,
        "template": prompt.template_version,
        "style": prompt.style,
        "style_overridden": prompt.style_overridden,
        "aspect_ratio": prompt.aspect_ratio,
        "image_size": prompt.image_size,
        "stored_at": dg.MetadataValue.path(uri),
    }
