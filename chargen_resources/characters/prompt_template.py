"""The image prompt template: a text file users edit, checked when the definitions load.

The file holds prose with named placeholders in braces (`{name}`, `{palette}` ...); a literal
brace is written twice (`{{`). Whitespace and line breaks are folded into single spaces when a
prompt is compiled, so the file may be laid out for reading. Its content hash is the template's
fingerprint, which is `character_prompt`'s code version: editing the file is the whole workflow
for "rebuild after a prompt change".
"""

from __future__ import annotations

import hashlib
import os
import string
from pathlib import Path

from pydantic import BaseModel, ConfigDict

TEMPLATE_ENV = "CHARGEN_PROMPT_TEMPLATE"
# The project's own template; CHARGEN_PROMPT_TEMPLATE points at another file.
DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "prompts" / "character_image.txt"

PLACEHOLDERS: dict[str, str] = {
    "name": "the character's name (character.yaml `display_name`, else its folder's name)",
    "archetype": "the analysis's archetype, e.g. oracle",
    "a_archetype": "the archetype with its article, e.g. an oracle",
    "traits": "the analysis's visual traits, comma-separated",
    "palette": "the analysis's colours with their hex codes",
    "mood": "the analysis's mood",
    "silhouette": "the analysis's silhouette",
    "pose": "the analysis's pose",
    "props_clause": "'Carries: <props>.' when the analysis found props, else nothing",
    "style": "the render style: character.yaml or run style override, else the analysis's",
    "notes_clause": "'Art director's notes: <notes>.' from character.yaml, else nothing",
    "feedback_clause": "'Feedback on the previous take ...' from character.yaml, else nothing",
    "cast_style_clause": "the art direction and palette of the inbox's _style/style.yaml, "
    "else nothing",
}
# Without these, what a user writes in character.yaml or the run config would silently not
# reach the prompt.
REQUIRED = ("name", "style", "notes_clause", "feedback_clause", "cast_style_clause")


class TemplateError(ValueError):
    """A template file that cannot be used; the message names the file and the cause."""


class PromptTemplate(BaseModel):
    """The template's text and where it came from."""

    model_config = ConfigDict(frozen=True)

    text: str
    source: str = "prompt template"

    @property
    def fingerprint(self) -> str:
        return f"tpl-{hashlib.sha256(self.text.encode()).hexdigest()[:12]}"


def placeholders_in(text: str, source: str) -> set[str]:
    """The names the text uses; refuses positional, indexed or formatted fields."""
    try:
        fields = [
            (field, spec, conversion)
            for _, field, spec, conversion in string.Formatter().parse(text)
            if field is not None
        ]
    except ValueError as error:  # a lone brace
        raise TemplateError(
            f"{source}: {error}; write a literal brace twice ({{{{ or }}}})"
        ) from None
    names: set[str] = set()
    for field, spec, conversion in fields:
        if not field.isidentifier() or spec or conversion:
            shown = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            raise TemplateError(
                f"{source}: {{{shown}}} is not a placeholder; use one of {_known()} "
                "(a literal brace is written twice)"
            )
        names.add(field)
    return names


def parse_template(text: str, source: str) -> PromptTemplate:
    used = placeholders_in(text, source)
    unknown = sorted(used - PLACEHOLDERS.keys())
    if unknown:
        raise TemplateError(
            f"{source}: unknown placeholder {', '.join('{' + n + '}' for n in unknown)}; "
            f"known placeholders are {_known()}"
        )
    missing = [name for name in REQUIRED if name not in used]
    if missing:
        raise TemplateError(
            f"{source}: missing placeholder {', '.join('{' + n + '}' for n in missing)} "
            f"({'; '.join(PLACEHOLDERS[n] for n in missing)}); without it what users write "
            "in character.yaml or the run config would not reach the prompt"
        )
    return PromptTemplate(text=text, source=source)


def template_path() -> Path:
    configured = os.environ.get(TEMPLATE_ENV)
    return Path(configured).expanduser() if configured else DEFAULT_TEMPLATE_PATH


def load_template(path: Path | None = None) -> PromptTemplate:
    path = path or template_path()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        hint = f" (set by {TEMPLATE_ENV})" if os.environ.get(TEMPLATE_ENV) else ""
        raise TemplateError(
            f"the prompt template {path}{hint} cannot be read: {error.__class__.__name__}: "
            f"{getattr(error, 'strerror', None) or error}"
        ) from None
    return parse_template(text, str(path))


def _known() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)
