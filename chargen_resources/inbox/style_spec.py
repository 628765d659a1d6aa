"""The cast's style guide: the inbox's ``_style/`` folder, its ``style.yaml``, and its errors.

``_style/`` holds style reference images (sent with every character's image request, after the
character's own sketches) and an optional ``style.yaml``::

    art_direction: painterly fantasy, warm rim light, muted backgrounds
    palette: [deep teal, burnt orange, bone white]
    aspect_ratio: "2:3"      # defaults for characters whose character.yaml does not say
    image_size: 2K
"""

from __future__ import annotations

from typing import Any, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chargen_resources.inbox.character_spec import (
    AspectRatio,
    ImageSize,
    NoSexagesimalLoader,
    first_problem,
    yaml_fix,
    yaml_problem,
)

STYLE_FOLDER = "_style"
STYLE_SPEC_NAMES = ("style.yaml", "style.yml")


class StyleSpec(BaseModel):
    """What style.yaml may say; every field is optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    art_direction: str | None = Field(default=None, min_length=1, max_length=2000)
    palette: list[str] = Field(default_factory=list, max_length=24)
    aspect_ratio: AspectRatio | None = None
    image_size: ImageSize | None = None

    @field_validator("palette", mode="before")
    @classmethod
    def _one_colour_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("image_size", mode="before")
    @classmethod
    def _upper_image_size(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class StyleSpecError(ValueError):
    """style.yaml could not be used; the message names the file, the field and the fix."""


_FIXES: dict[str, str] = {
    "art_direction": "write the art direction as one text (quote it if it holds a colon)",
    "palette": "list colours by name or #rrggbb: palette: [deep teal, '#c0562f']",
    "aspect_ratio": "use one of " + ", ".join(f'"{r}"' for r in get_args(AspectRatio)),
    "image_size": "use one of " + ", ".join(get_args(ImageSize)),
}


def parse_style_spec(data: bytes, where: str = f"{STYLE_FOLDER}/style.yaml") -> StyleSpec:
    try:
        loaded = yaml.load(data.decode("utf-8-sig"), Loader=NoSexagesimalLoader)  # a SafeLoader
    except UnicodeDecodeError as error:
        raise StyleSpecError(f"{where}: is not UTF-8 text (byte {error.start})") from None
    except yaml.YAMLError as error:
        fix = yaml_fix(error)
        raise StyleSpecError(
            f"{where}: is not valid YAML{yaml_problem(error)}; {fix[:1].lower()}{fix[1:]}"
        ) from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise StyleSpecError(
            f"{where}: must be a mapping of field: value, not a {type(loaded).__name__}; "
            f"use the fields {', '.join(StyleSpec.model_fields)}"
        )
    try:
        return StyleSpec.model_validate(loaded)
    except ValidationError as error:
        field, problem, fix = first_problem(error, _fix_for, tuple(StyleSpec.model_fields))
        raise StyleSpecError(f"{where}: field '{field}' {problem}; {fix}") from None


def _fix_for(field: str, error_type: str) -> str:
    if error_type == "extra_forbidden":
        return f"use {', '.join(StyleSpec.model_fields)}"
    return _FIXES.get(field, "fix the value")
