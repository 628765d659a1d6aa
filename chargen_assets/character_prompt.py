"""character_prompt: a deterministic, versioned compilation of each analysis into a prompt."""

from __future__ import annotations

from typing import Any

import dagster as dg

from chargen_assets import cast_style, character_analysis, source_image
from chargen_assets.partitions import character_asset_spec
from chargen_assets.stage import Stage, StageRun
from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.characters.prompt_compiler import COMPILER_VERSION, CompiledPrompt
from chargen_resources.characters.prompt_template import load_template
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.image_stage import STAGE as IMAGE_STAGE
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.prompt_stage import approved_prompts, compile_prompts

# Read when the definitions load (a bad placeholder stops the load, naming it). Its fingerprint
# and the compiler's version are this asset's code version: editing the file, or a change in
# how prompts are compiled, makes every character's prompt stale (recompiling is free; an image
# is made again only where its prompt's text changed).
TEMPLATE = load_template()
CODE_VERSION = f"{TEMPLATE.fingerprint}+c{COMPILER_VERSION}"

spec = character_asset_spec(
    stage_names.PROMPT,
    code_version=CODE_VERSION,
    kinds={"python"},
    # The analysis, and character.yaml (display name, notes, style, size) from source_image.
    # ... and the cast's style guide, the same for every character.
    upstream=[character_analysis.spec.key, source_image.spec.key, cast_style.KEY],
    description=(
        f"The image prompt compiled from the analysis and character.yaml with the prompt "
        f"template {TEMPLATE.source} ({TEMPLATE.fingerprint}). No API call."
    ),
)


def metadata(prompt: CompiledPrompt, uri: str) -> dict[str, Any]:
    return {
        "prompt": dg.MetadataValue.text(prompt.text),
        "prompt_hash": prompt.prompt_hash,
        "template": prompt.template_version,
        "style": prompt.style,
        "references": ", ".join(r.name for r in prompt.references) or "none (text only)",
        "locked": prompt.locked,
        "style_overridden": prompt.style_overridden,
        "aspect_ratio": prompt.aspect_ratio,
        "image_size": prompt.image_size,
        "stored_at": dg.MetadataValue.path(uri),
    }


def compute(run: StageRun) -> StageOutcome[CompiledPrompt]:
    outcome = compile_prompts(
        run.results(character_analysis.spec.key),
        run.results(source_image.spec.key),
        template=TEMPLATE,
        style=run.style(),
        style_override=run.config.style_override,
        default_aspect_ratio=run.config.aspect_ratio,
        default_image_size=run.config.image_size,
    )
    # A locked character keeps the prompt its approved image was made from: the record then
    # says truly what the image shows, whatever the template, style or feedback say now.
    locked = [key for key, prompt in outcome.succeeded.items() if prompt.locked]
    if locked:
        stored = run.storage.read_artifacts(spec.key, locked, CompiledPrompt, missing_ok=True)
        # The image stage is downstream (its asset module imports this one): its stage name.
        images = run.storage.read_artifacts(IMAGE_STAGE, locked, GeneratedImage, missing_ok=True)
        outcome.succeeded.update(approved_prompts(stored, images))
    return outcome


stage = Stage(spec=spec, artifact=CompiledPrompt, metadata=metadata, compute=compute)
