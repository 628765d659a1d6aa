"""Deterministic compilation of an image prompt from an analysis.

A pure function of its inputs: the same analysis, character sheet and template always give the
same prompt, byte for byte. The template is a file users edit (`prompt_template`); the
`character_prompt` asset's Dagster `code_version` is its fingerprint, so editing the template
marks every character stale and nothing else does.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chargen_resources.characters.analysis import CharacterAnalysis
from chargen_resources.characters.artifacts import StoredImage
from chargen_resources.characters.prompt_template import PromptTemplate
from chargen_resources.inbox.style_spec import STYLE_FOLDER

ReferenceRole = Literal["sketch", "style"]
AspectRatio = Literal["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
ImageSize = Literal["1K", "2K", "4K"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_FIELD_CHARS = 200


class Reference(BaseModel):
    """A sketch sent with the image request for the model to follow (named by its content)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="its file name in the character's inbox folder")
    sha256: str
    key: str = Field(description="the normalised sketch in storage")
    mime_type: str = "image/png"
    size_bytes: int | None = None
    # A character's own sketch (its design), or one of the cast's style images (its look).
    role: ReferenceRole = "sketch"

    @classmethod
    def of(cls, image: StoredImage, role: ReferenceRole) -> Reference:
        """A stored sketch as sent: a style image is named by its place in the inbox."""
        name = image.source_name if role == "sketch" else f"{STYLE_FOLDER}/{image.source_name}"
        return cls(
            name=name, sha256=image.sha256, key=image.key, size_bytes=image.size_bytes, role=role
        )


# Bump when compile_prompt writes a different text from the same template and inputs: it is
# part of character_prompt's code version, so the prompts are compiled again.
# 2: a character without a display_name is named by its folder, not its partition key.
COMPILER_VERSION = 2


class PromptInputs(BaseModel):
    """Everything besides the analysis that shapes one character's prompt."""

    model_config = ConfigDict(frozen=True)

    character: str
    display_name: str | None = None
    notes: str | None = None
    feedback: str | None = None
    style_override: str | None = None
    aspect_ratio: AspectRatio = "9:16"
    image_size: ImageSize = "1K"
    references: tuple[Reference, ...] = ()
    locked: bool = False
    # The cast's style guide (inbox `_style/style.yaml`), for every character alike.
    art_direction: str | None = None
    palette_constraints: tuple[str, ...] = ()


class CompiledPrompt(BaseModel):
    """The prompt and image settings for one character, with what produced them."""

    model_config = ConfigDict(frozen=True)

    character: str
    text: str
    aspect_ratio: AspectRatio
    image_size: ImageSize
    style: str
    style_overridden: bool
    template_version: str = Field(description="PromptTemplate.fingerprint")
    prompt_hash: str = Field(
        description="sha256 of text, image settings and references, first 16 hex digits"
    )
    references: tuple[Reference, ...] = ()
    locked: bool = Field(default=False, description="character.yaml: an approved take, kept")


def _clean(value: str) -> str:
    """One line, no control characters, bounded: model output must not steer the template."""
    text = " ".join(_CONTROL.sub(" ", value).split())
    return text[:_MAX_FIELD_CHARS].rstrip(" .")


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    kept: list[str] = []
    for value in (_clean(v) for v in values):
        if value and value.lower() not in seen:
            seen.add(value.lower())
            kept.append(value)
    return kept


def _palette(analysis: CharacterAnalysis) -> str:
    colours = []
    for colour in analysis.colour_palette:
        name = _clean(colour.name)
        colours.append(f"{name} ({colour.hex})" if colour.hex else name)
    return ", ".join(_unique(colours))


def _cast_style_clause(inputs: PromptInputs) -> str:
    clause = ""
    if inputs.art_direction:
        clause += f"Cast art direction: {_clean(inputs.art_direction)}. "
    if palette := _unique(list(inputs.palette_constraints)):
        clause += f"Keep to the cast palette: {', '.join(palette)}. "
    return clause


def _with_article(noun: str) -> str:
    """ "an oracle", "a knight": the article English asks for (by the first letter)."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def compile_prompt(
    analysis: CharacterAnalysis,
    inputs: PromptInputs,
    template: PromptTemplate,
    default_style_override: str | None = None,
) -> CompiledPrompt:
    """Fill the template. A sheet's style override beats the run-wide one, which beats analysis."""
    override = inputs.style_override or default_style_override
    style = _clean(override) if override else _clean(analysis.art_style)
    props = _unique(analysis.props)
    notes = _clean(inputs.notes) if inputs.notes else ""
    feedback = _clean(inputs.feedback) if inputs.feedback else ""
    text = template.text.format(
        name=_clean(inputs.display_name) if inputs.display_name else inputs.character,
        archetype=_clean(analysis.archetype),
        a_archetype=_with_article(_clean(analysis.archetype)),
        traits=", ".join(_unique(analysis.visual_traits)),
        palette=_palette(analysis),
        mood=_clean(analysis.mood),
        silhouette=_clean(analysis.silhouette),
        pose=_clean(analysis.pose),
        props_clause=f"Carries: {', '.join(props)}. " if props else "",
        style=style,
        notes_clause=f"Art director's notes: {notes}. " if notes else "",
        feedback_clause=f"Feedback on the previous take, to follow now: {feedback}. "
        if feedback
        else "",
        cast_style_clause=_cast_style_clause(inputs),
    )
    text = " ".join(text.split())
    shown = "\n".join(r.sha256 for r in inputs.references)
    digest = hashlib.sha256(
        f"{text}\n{inputs.aspect_ratio}\n{inputs.image_size}\n{shown}".encode()
    ).hexdigest()
    return CompiledPrompt(
        character=inputs.character,
        text=text,
        aspect_ratio=inputs.aspect_ratio,
        image_size=inputs.image_size,
        style=style,
        style_overridden=override is not None,
        template_version=template.fingerprint,
        prompt_hash=digest[:16],
        references=inputs.references,
        locked=inputs.locked,
    )
