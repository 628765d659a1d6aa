"""character_analysis: a Gemini batch job reads each character's sketches into structured JSON."""

from __future__ import annotations

from typing import Any

import dagster as dg

from chargen_assets.partitions import character_asset_spec
from chargen_resources.characters.artifacts import AnalysisRecord
from chargen_resources.characters.requests import ANALYSIS_REQUEST_VERSION

# The request we send is the code that shapes this asset.
CODE_VERSION = ANALYSIS_REQUEST_VERSION

spec = character_asset_spec(
    "character_analysis",
    code_version=CODE_VERSION,
    kinds={"gemini"},
    upstream=["source_image"],
    description=(
        "A Gemini batch job (JSON mode, schema from CharacterAnalysis) describing each "
        "character: archetype, traits, palette, mood, art style, pose, silhouette, props."
    ),
)


def metadata(record: AnalysisRecord, uri: str) -> dict[str, Any]:
    analysis = record.analysis
    return {
        "archetype": analysis.archetype,
        "mood": analysis.mood,
        "art_style": analysis.art_style,
        "palette": ", ".join(c.hex or c.name for c in analysis.colour_palette),
        "model": record.model,
        "batch_job": record.batch_job,
        "prompt_tokens": record.usage.prompt_tokens,
        "output_tokens": record.usage.output_tokens,
        "estimated_cost_usd": record.estimated_cost_usd or 0.0,
        "stored_at": dg.MetadataValue.path(uri),
    }
