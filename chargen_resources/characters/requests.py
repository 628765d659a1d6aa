"""The JSON requests chargen sends, in the wire form of a batch input line's `request`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from chargen_resources.characters.analysis import CharacterAnalysis, gemini_schema
from chargen_resources.characters.prompt_compiler import CompiledPrompt, ReferenceRole

ANALYSIS_INSTRUCTION = (
    "You are an art director cataloguing reference sketches for a game's character pipeline. "
    "Describe the one character shown across the attached images: its archetype, its most "
    "distinctive visual traits, its dominant colours (name and #rrggbb), its mood, the art style "
    "of the sketches, its pose, silhouette and props. Answer only with JSON matching the schema."
)
ANALYSIS_TEMPERATURE = 0.2


class ImageReference(BaseModel):
    model_config = ConfigDict(frozen=True)

    uri: str
    mime_type: str
    role: ReferenceRole = "sketch"


class SafetySetting(BaseModel):
    model_config = ConfigDict(frozen=True)

    category: str
    threshold: str


# Creative work trips the default filters on fantasy violence; only block what is clearly harmful.
DEFAULT_SAFETY_SETTINGS = (
    SafetySetting(category="HARM_CATEGORY_DANGEROUS_CONTENT", threshold="BLOCK_ONLY_HIGH"),
    SafetySetting(category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_ONLY_HIGH"),
    SafetySetting(category="HARM_CATEGORY_HATE_SPEECH", threshold="BLOCK_ONLY_HIGH"),
    SafetySetting(category="HARM_CATEGORY_SEXUALLY_EXPLICIT", threshold="BLOCK_MEDIUM_AND_ABOVE"),
)


def _version(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:12]


# Built once and shared by every request (read-only): made per request, it was most of each
# request's memory and time (a JSON schema generated anew each time).
ANALYSIS_SCHEMA = gemini_schema(CharacterAnalysis)
_ANALYSIS_SYSTEM_INSTRUCTION = {"parts": [{"text": ANALYSIS_INSTRUCTION}]}
_ANALYSIS_GENERATION_CONFIG = {
    "temperature": ANALYSIS_TEMPERATURE,
    "responseMimeType": "application/json",
    "responseSchema": ANALYSIS_SCHEMA,
}

# What shapes an analysis answer besides the images: change any of it and old answers are stale.
ANALYSIS_REQUEST_VERSION = "analysis-" + _version(
    ANALYSIS_INSTRUCTION, ANALYSIS_TEMPERATURE, ANALYSIS_SCHEMA
)


def analysis_request(images: Sequence[ImageReference], character: str) -> dict[str, Any]:
    """Describe what the sketches show. The artist's notes are art direction for the final
    image: they go into the prompt, not into the reading of the sketches."""
    parts: list[dict[str, Any]] = [{"text": f"Character id: {character}."}]
    parts.extend({"fileData": {"fileUri": i.uri, "mimeType": i.mime_type}} for i in images)
    return {
        "contents": [{"role": "user", "parts": parts}],
        "systemInstruction": _ANALYSIS_SYSTEM_INSTRUCTION,
        "generationConfig": _ANALYSIS_GENERATION_CONFIG,
    }


# Sent before each kind of reference: what the images that follow are for.
REFERENCE_NOTES: dict[ReferenceRole, str] = {
    "sketch": (
        "The images that follow are the artist's reference sketches of this very character. "
        "Follow their design: pose, silhouette, proportions, costume and props. Render it as "
        "one finished illustration as described above, not a collage or a copy of the sketch "
        "lines."
    ),
    "style": (
        "The images that follow are the cast's style references, shared by every character: "
        "match their rendering, palette, lighting and finish, not their subjects."
    ),
}


class _HasRole(Protocol):
    @property
    def role(self) -> ReferenceRole: ...


R = TypeVar("R", bound=_HasRole)


def noted_groups(references: Sequence[R]) -> Iterator[tuple[str, list[R]]]:
    """The references in request order, each kind (sketches, then style images) with the note
    that goes before it: one order for batch lines and interactive calls alike."""
    for role, note in REFERENCE_NOTES.items():
        if these := [r for r in references if r.role == role]:
            yield note, these


def content_references(prompt: CompiledPrompt) -> list[ImageReference]:
    """The prompt's sketches named by content hash: the same in every run, whatever name the
    Files API gave their uploads (what a request's fingerprint is computed from)."""
    return [
        ImageReference(uri=f"sha256:{r.sha256}", mime_type=r.mime_type, role=r.role)
        for r in prompt.references
    ]


def image_request(
    prompt: CompiledPrompt,
    safety_settings: Sequence[SafetySetting] = DEFAULT_SAFETY_SETTINGS,
    references: Sequence[ImageReference] = (),
) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": prompt.text}]
    for note, these in noted_groups(references):
        parts.append({"text": note})
        parts.extend({"fileData": {"fileUri": r.uri, "mimeType": r.mime_type}} for r in these)
    return {
        "contents": [{"role": "user", "parts": parts}],
        "safetySettings": [s.model_dump() for s in safety_settings],
        "generationConfig": {
            "responseModalities": ["IMAGE"],
            "imageConfig": {"aspectRatio": prompt.aspect_ratio, "imageSize": prompt.image_size},
        },
    }
