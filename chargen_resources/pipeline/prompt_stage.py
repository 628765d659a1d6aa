"""character_prompt: compile each analysis into an image prompt. Pure; no API calls."""

from __future__ import annotations

from collections.abc import Mapping

from chargen_resources.characters.artifacts import AnalysisRecord, SourceImages
from chargen_resources.characters.prompt_compiler import (
    AspectRatio,
    CompiledPrompt,
    ImageSize,
    PromptInputs,
    compile_prompt,
)
from chargen_resources.characters.prompt_template import PromptTemplate
from chargen_resources.pipeline.outcomes import StageOutcome

STAGE = "character_prompt"


def compile_prompts(
    analyses: Mapping[str, AnalysisRecord],
    sources: Mapping[str, SourceImages],
    *,
    template: PromptTemplate,
    style_override: str | None = None,
    default_aspect_ratio: AspectRatio = "9:16",
    default_image_size: ImageSize = "1K",
) -> StageOutcome[CompiledPrompt]:
    outcome: StageOutcome[CompiledPrompt] = StageOutcome(STAGE)
    for key, record in sorted(analyses.items()):
        source = sources.get(key)
        spec = source.spec if source else None
        inputs = PromptInputs(
            character=key,
            display_name=spec.display_name if spec else None,
            notes=spec.notes if spec else None,
            style_override=spec.style_override if spec else None,
            aspect_ratio=(
                spec.aspect_ratio if spec and spec.aspect_ratio else default_aspect_ratio
            ),
            image_size=(spec.image_size if spec and spec.image_size else default_image_size),
        )
        outcome.succeeded[key] = compile_prompt(record.analysis, inputs, template, style_override)
    return outcome
