"""character_image: a Gemini batch image job renders every prompt; PNGs stream into storage."""

from __future__ import annotations

from typing import Any

import dagster as dg

from chargen_assets.partitions import character_asset_spec
from chargen_resources.characters.artifacts import GeneratedImage

CODE_VERSION = "image-v1"

spec = character_asset_spec(
    "character_image",
    code_version=CODE_VERSION,
    kinds={"gemini", "png"},
    upstream=["character_prompt"],
    description=(
        "The finished character as PNG, from a Gemini batch image job (or streamGenerateContent "
        "for a single-character run). Metadata: size, tokens, estimated cost, job, thumbnail."
    ),
)


def metadata(image: GeneratedImage, uri: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "finish_reason": image.finish_reason or "",
        "model": image.model,
        "mode": image.mode,
        "batch_job": image.batch_job or "(streamed, full price)",
        "prompt_tokens": image.usage.prompt_tokens,
        "output_tokens": image.usage.output_tokens,
        "thoughts_tokens": image.usage.thoughts_tokens,
        "estimated_cost_usd": image.estimated_cost_usd or 0.0,
        "image": dg.MetadataValue.path(image.image_uri),
    }
    if image.thumbnail:
        values["preview"] = dg.MetadataValue.md(image.thumbnail)
    values["record"] = dg.MetadataValue.path(uri)
    return values
