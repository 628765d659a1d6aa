"""character_prompt: compile each analysis into an image prompt. Pure; no API calls."""

from __future__ import annotations

from collections.abc import Mapping

from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    CastStyle,
    GeneratedImage,
    SourceImages,
)
from chargen_resources.characters.prompt_compiler import (
    AspectRatio,
    CompiledPrompt,
    ImageSize,
    PromptInputs,
    Reference,
    compile_prompt,
)
from chargen_resources.characters.prompt_template import PromptTemplate
from chargen_resources.inbox.sources import IMAGE_SUFFIXES
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import PackedModels

STAGE = stage_names.PROMPT


def compile_prompts(
    analyses: Mapping[str, AnalysisRecord],
    sources: Mapping[str, SourceImages],
    *,
    template: PromptTemplate,
    style: CastStyle | None = None,
    style_override: str | None = None,
    default_aspect_ratio: AspectRatio = "9:16",
    default_image_size: ImageSize = "1K",
) -> StageOutcome[CompiledPrompt]:
    """Each character's prompt. The cast's style (inbox `_style/`) adds its art direction and
    palette to every prompt, its images after each character's sketches, and its aspect ratio
    and size as defaults below character.yaml's."""
    style = style or CastStyle()
    style_references = tuple(Reference.of(image, "style") for image in style.images)
    default_aspect_ratio = style.spec.aspect_ratio or default_aspect_ratio
    default_image_size = style.spec.image_size or default_image_size
    # Held until the image stage has read them all: packed.
    outcome: StageOutcome[CompiledPrompt] = StageOutcome(STAGE, succeeded=PackedModels())
    for key in sorted(analyses):  # one record at a time: they may be held packed
        record = analyses[key]
        source = sources.get(key)
        spec = source.spec if source else None
        try:
            references = chosen_references(source) if source else ()
        except ValueError as error:
            outcome.fail(key, str(error), content=True)
            continue
        inputs = PromptInputs(
            character=key,
            display_name=(spec.display_name if spec else None)
            or (folder_name(source.source_name) if source else None),
            notes=spec.notes if spec else None,
            feedback=spec.feedback if spec else None,
            style_override=spec.style_override if spec else None,
            aspect_ratio=(
                spec.aspect_ratio if spec and spec.aspect_ratio else default_aspect_ratio
            ),
            image_size=(spec.image_size if spec and spec.image_size else default_image_size),
            references=references + style_references,
            locked=source.locked if source else False,
            art_direction=style.spec.art_direction,
            palette_constraints=tuple(style.spec.palette),
        )
        outcome.succeeded[key] = compile_prompt(record.analysis, inputs, template, style_override)
    return outcome


def folder_name(source_name: str) -> str:
    """A character's name as the artist wrote it: its folder's, or a loose image's without its
    extension (its partition key may be a slug with a hash: `elodie-the-pale-b4ea4810`)."""
    stem, dot, suffix = source_name.rpartition(".")
    return stem if dot and f".{suffix.lower()}" in IMAGE_SUFFIXES else source_name


def chosen_references(source: SourceImages) -> tuple[Reference, ...]:
    """The sketches character.yaml's `reference_images` picks (all by default), in folder
    order; a name that is not among the folder's images is the user's error, named."""
    choice = source.spec.reference_images if source.spec else "all"
    if choice == "none":
        return ()
    images = source.images
    if choice != "all":
        by_name = {image.source_name: image for image in images}
        unknown = [name for name in choice if name not in by_name]
        if unknown:
            raise ValueError(
                f"character '{source.character}': character.yaml reference_images names "
                f"{', '.join(unknown)}, not among this folder's images "
                f"({', '.join(by_name) or 'none'}); fix the names, or use all or none"
            )
        chosen = set(choice)
        images = [image for image in images if image.source_name in chosen]
    return tuple(Reference.of(image, "sketch") for image in images)


def approved_prompts(
    stored: Mapping[str, CompiledPrompt], images: Mapping[str, GeneratedImage]
) -> dict[str, CompiledPrompt]:
    """For locked characters: the stored prompt their kept image was made from (same hash),
    still marked locked; a character whose stored prompt no longer matches its image is left
    out (its new prompt is used, and its image is still kept by the image stage)."""
    return {
        key: prompt.model_copy(update={"locked": True})
        for key, prompt in stored.items()
        if key in images and images[key].prompt_hash == prompt.prompt_hash
    }
