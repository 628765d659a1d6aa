"""character_analysis: a Gemini batch job reads each character's sketches into structured JSON."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import dagster as dg

from chargen_assets import source_image
from chargen_assets.partitions import character_asset_spec
from chargen_assets.stage import Stage, StageRun
from chargen_resources.characters.artifacts import AnalysisRecord, GeneratedImage, SourceImages
from chargen_resources.characters.requests import ANALYSIS_REQUEST_VERSION
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.analysis_stage import analysis_stage
from chargen_resources.pipeline.analysis_stage import still_valid as analysis_still_valid
from chargen_resources.pipeline.image_stage import STAGE as IMAGE_STAGE
from chargen_resources.pipeline.image_stage import never_sendable
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import only
from chargen_resources.pipeline.style_stage import StyleError

# The request we send is the code that shapes this asset.
CODE_VERSION = ANALYSIS_REQUEST_VERSION

spec = character_asset_spec(
    stage_names.ANALYSIS,
    code_version=CODE_VERSION,
    kinds={"gemini"},
    upstream=[source_image.spec.key],
    description=(
        "Gemini (JSON mode, schema from CharacterAnalysis) describing each character from its "
        "sketches: archetype, traits, palette, mood, art style, pose, silhouette, props. A "
        "batch job, or one interactive call per character for a quick one-character run."
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
        "backend": record.backend or "unknown",
        "mode": record.mode,
        "batch_job": record.batch_job or "(interactive, full price)",
        "prompt_tokens": record.usage.prompt_tokens,
        "output_tokens": record.usage.output_tokens,
        "estimated_cost_usd": round(record.estimated_cost_usd or 0.0, 4),
        "stored_at": dg.MetadataValue.path(uri),
    }


def compute(run: StageRun) -> StageOutcome[AnalysisRecord]:
    sources: Mapping[str, SourceImages] = run.results(source_image.spec.key)
    model = run.gemini.analysis_model

    paid = analysis_stage(
        sources,
        store=run.storage.store(),
        uploads=run.uploads,
        client=run.gemini.streaming_client(),
        model=model,
        timeout_seconds=run.gemini.request_timeout_seconds,
        backend=run.gemini.backend(),
    )
    valid = partial(analysis_still_valid, model=model, answering=run.gemini.backend())
    refused = _images_never_sendable(run, sources)
    outcome = run.pay(
        spec.key,
        only(sources, [k for k in sources if k not in refused]),
        AnalysisRecord,
        valid,
        paid,
        # An approved take keeps the prompt it was made from: a new analysis would change
        # nothing, so `regenerate` does not pay for one.
        kept_when_regenerating=locked_characters(sources),
    )
    for key, reason in refused.items():
        outcome.fail(key, reason, content=True)
    return outcome


def locked_characters(sources: Mapping[str, SourceImages]) -> list[str]:
    """Characters whose character.yaml says `locked: true` (one record at a time: packed)."""
    return [key for key in sorted(sources) if sources[key].locked]


def _images_never_sendable(run: StageRun, sources: Mapping[str, SourceImages]) -> dict[str, str]:
    """When this run makes images: characters whose image could never be asked for as they
    are (locked with no take stored, a reference_images name the folder lacks, too many
    references for the image model), so their analysis is not paid for either."""
    if not run.makes_images:
        return {}
    try:
        style = run.style()
    except StyleError:  # a `_style/` not read yet: the prompt stage says so, for everyone
        return {}
    locked = locked_characters(sources)
    imaged = run.storage.read_artifacts(IMAGE_STAGE, locked, GeneratedImage, missing_ok=True)
    return never_sendable(sources, style, run.gemini.image_model, imaged=imaged.keys())


stage = Stage(spec=spec, artifact=AnalysisRecord, metadata=metadata, compute=compute)
