"""What the analysis model must tell us about a character, and the schema we ask it for.

`CharacterAnalysis` is the single source of truth: the Gemini `responseSchema` is generated from
it, and every answer is validated against it before anything downstream sees it.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


class PaletteColour(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="A common colour name, e.g. 'crimson' or 'slate grey'.")
    hex: str | None = Field(default=None, description="The colour as #rrggbb.")

    @field_validator("name")
    @classmethod
    def _tidy_name(cls, value: str) -> str:
        return " ".join(value.split()).lower()

    @field_validator("hex")
    @classmethod
    def _normalise_hex(cls, value: str | None) -> str | None:
        """Models write hex codes loosely; keep the ones we can read, drop the rest."""
        if value is None:
            return None
        match = _HEX.match(value.strip())
        if not match:
            return None
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return "#" + digits.lower()


class CharacterAnalysis(BaseModel):
    """A structured reading of a character's reference sketches."""

    model_config = ConfigDict(extra="ignore")

    archetype: str = Field(description="The character's role in one or two words, e.g. 'knight'.")
    visual_traits: list[str] = Field(
        min_length=1, max_length=8, description="Distinctive visible features, short phrases."
    )
    colour_palette: list[PaletteColour] = Field(
        min_length=1, max_length=6, description="The dominant colours, most prominent first."
    )
    mood: str = Field(description="The emotional tone, e.g. 'sombre' or 'cheerful'.")
    art_style: str = Field(description="The drawing style, e.g. 'flat cel shading'.")
    pose: str = Field(description="The body pose seen in the sketches.")
    silhouette: str = Field(description="The overall shape language, e.g. 'tall and angular'.")
    props: list[str] = Field(
        default_factory=list, max_length=6, description="Weapons, tools or accessories."
    )

    @field_validator("archetype", "mood", "art_style", "pose", "silhouette")
    @classmethod
    def _single_line(cls, value: str) -> str:
        tidy = " ".join(value.split())
        if not tidy:
            raise ValueError("must not be empty")
        return tidy

    @field_validator("visual_traits", "props")
    @classmethod
    def _tidy_phrases(cls, values: list[str]) -> list[str]:
        return [" ".join(v.split()) for v in values if v.strip()]


_JSON_TO_GEMINI_TYPES = {
    "string": "STRING",
    "integer": "INTEGER",
    "number": "NUMBER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
_COPIED_KEYS = {
    "description": "description",
    "enum": "enum",
    "minItems": "minItems",
    "maxItems": "maxItems",
    "minimum": "minimum",
    "maximum": "maximum",
    "format": "format",
}


def gemini_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Translate a pydantic model into the OpenAPI subset Gemini's `responseSchema` accepts."""
    json_schema = model.model_json_schema()
    return _translate(json_schema, json_schema.get("$defs", {}))


def _translate(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        return _translate(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    variants = node.get("anyOf")
    if variants:
        concrete = [v for v in variants if v.get("type") != "null"]
        chosen = _translate(concrete[0], defs)
        if len(concrete) < len(variants):
            chosen["nullable"] = True
        if "description" in node:
            chosen["description"] = node["description"]
        return chosen
    out: dict[str, Any] = {"type": _JSON_TO_GEMINI_TYPES[node.get("type", "string")]}
    for source, target in _COPIED_KEYS.items():
        if source in node:
            out[target] = node[source]
    if out["type"] == "ARRAY":
        out["items"] = _translate(node.get("items", {"type": "string"}), defs)
    if out["type"] == "OBJECT":
        properties = node.get("properties", {})
        out["properties"] = {name: _translate(sub, defs) for name, sub in properties.items()}
        out["propertyOrdering"] = list(properties)
        if node.get("required"):
            out["required"] = list(node["required"])
    return out
