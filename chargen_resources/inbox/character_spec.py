"""The optional ``character.yaml`` beside a character's sketches, and its user-facing errors."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

AspectRatio = Literal["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"]
ImageSize = Literal["1K", "2K", "4K"]

SPEC_FILE_NAMES = ("character.yaml", "character.yml")


class CharacterSpec(BaseModel):
    """What a user may say about a character besides the sketches. Every field is optional."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    notes: str | None = Field(default=None, max_length=4000)
    style_override: str | None = Field(default=None, min_length=1, max_length=500)
    aspect_ratio: AspectRatio | None = None
    image_size: ImageSize | None = None
    # Which sketches go with the image request as references for the model to follow.
    reference_images: Literal["all", "none"] | list[str] = "all"
    # Art direction for the next take, sent with the prompt (changing it makes one take stale).
    feedback: str | None = Field(default=None, min_length=1, max_length=2000)
    # An approved take: never generated again, whatever changes (template, style, sketches).
    locked: bool = False

    @field_validator("reference_images", mode="before")
    @classmethod
    def _one_name_is_a_list(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() not in ("all", "none"):
            return [value]
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("image_size", mode="before")
    @classmethod
    def _upper_image_size(cls, value: Any) -> Any:
        # "2k" is an obvious typo for "2K"; accept it rather than fail a run over case.
        return value.strip().upper() if isinstance(value, str) else value


class CharacterSpecError(ValueError):
    """``character.yaml`` could not be used; the message names the character, field and fix."""

    def __init__(self, character: str, problem: str, fix: str, field: str | None = None) -> None:
        self.character = character
        self.field = field
        self.problem = problem
        self.fix = fix
        where = f" field '{field}'" if field else ""
        ending = "" if fix.endswith((".", "?")) else "."
        super().__init__(
            f"character '{character}': character.yaml{where}: {problem}. {fix}{ending}"
        )


class NotPlainYaml(yaml.MarkedYAMLError):
    """YAML that parses but is not plain data: an alias, a repeated key."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)


# What to do about YAML that parsed as more than plain data (a tag, an alias, a repeated key).
PLAIN_YAML_FIX = "Write plain values (text, numbers, true/false, lists), each field once"


def yaml_fix(error: yaml.YAMLError) -> str:
    """What to do about a file that could not be read as plain data."""
    if isinstance(error, NotPlainYaml | yaml.constructor.ConstructorError):
        return PLAIN_YAML_FIX
    return 'Check the indentation and quote values containing ":" or "#"'


class NoSexagesimalLoader(yaml.SafeLoader):
    """SafeLoader that reads ``16:9`` as text, and refuses aliases and repeated keys.

    YAML 1.1 (PyYAML) reads unquoted ``16:9`` as the base-60 integer 969, which would turn the
    most natural way to write an aspect ratio into a confusing error. An alias (``*name``) lets
    a few hundred bytes expand to gigabytes, and no field needs one; a key written twice (a
    second ``feedback:`` appended) would silently keep only the last.
    """

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise NotPlainYaml("an alias (*name) is not accepted here: write the value out", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise NotPlainYaml(f"'{key}' is written twice: keep one", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_INT_RESOLVER = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT_RESOLVER = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)

NoSexagesimalLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
NoSexagesimalLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", _INT_RESOLVER, list("-+0123456789")
)
NoSexagesimalLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _FLOAT_RESOLVER, list("-+0123456789.")
)

_ALLOWED_FIELDS = tuple(CharacterSpec.model_fields)


def _closest(field: str, allowed: Sequence[str]) -> str | None:
    """The field a misspelt one was likely meant to be ('aspect_ration': 'aspect_ratio')."""
    close = difflib.get_close_matches(field, allowed, n=1)
    return close[0] if close else None


def _fix_for(field: str, error_type: str) -> str:
    if error_type == "extra_forbidden":
        return f"Remove it or use one of: {', '.join(_ALLOWED_FIELDS)}"
    if field == "aspect_ratio":
        choices = ", ".join(f'"{ratio}"' for ratio in get_args(AspectRatio))
        return f"Use one of {choices}"
    if field == "image_size":
        return f"Use one of {', '.join(get_args(ImageSize))}"
    if field.startswith("reference_images"):
        return "Use all, none, or a list of the folder's image file names: [front.png, side.png]"
    if field == "locked":
        return "Use true or false"
    if error_type in ("string_too_long",):
        return "Shorten it"
    if error_type in ("string_too_short",):
        return "Give it some text or remove the line"
    return 'Write it as text, in quotes if it looks like yes/no, a date or a list: notes: "yes"'


def _shown(value: object, limit: int = 80) -> str:
    """A value as the error quotes it: cut short, so a long one never fills the log."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def field_problem(detail: Any) -> tuple[str | None, str]:
    """A pydantic error's field (not its path into a union's branches) and what is wrong (a
    value quoted short)."""
    field = str(detail["loc"][0]) if detail["loc"] else None
    if detail["type"] == "extra_forbidden":
        return field, "is not a known field"
    if detail["type"] == "literal_error":
        return field, f"{_shown(detail['input'])} is not supported"
    return field, f"{detail['msg'][0].lower()}{detail['msg'][1:]} (got {_shown(detail['input'])})"


def first_problem(
    error: ValidationError, fix_for: Callable[[str, str], str], fields: Sequence[str]
) -> tuple[str | None, str, str]:
    """The first problem's field, what is wrong and its fix (one clear message reads better in
    the Dagster UI than a pydantic dump), the fix naming the other fields to fix too, so a file
    is not fixed one run at a time. `fix_for(field, pydantic error type)` words a fix; an
    unknown field close to one of `fields` is asked about."""

    def problem(detail: Any) -> tuple[str | None, str]:
        field, what = field_problem(detail)
        meant = _closest(field or "", fields) if detail["type"] == "extra_forbidden" else None
        return field, what + (f" (did you mean '{meant}'?)" if meant else "")

    first, *others = error.errors()
    field, what = problem(first)
    fix = fix_for(field or "", first["type"])
    said = {fix}
    also = []
    for other in others:  # each with its own fix, once (not every unknown field's list again)
        name, wrong = problem(other)
        other_fix = fix_for(name or "", other["type"])
        told = "" if other_fix in said else f" ({other_fix[:1].lower()}{other_fix[1:]})"
        also.append(f"field '{name}' {wrong}{told}")
        said.add(other_fix)
    if also:
        fix += f". Also to fix: {'; '.join(also)}"
    return field, what, fix


def _spec_error(error: ValidationError, character: str) -> CharacterSpecError:
    field, problem, fix = first_problem(error, _fix_for, _ALLOWED_FIELDS)
    return CharacterSpecError(character, problem, fix, field)


def yaml_problem(error: yaml.YAMLError) -> str:
    """Where and what, as ' at line 3, column 9: found ...' (a user edits the file by it)."""
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {getattr(error, 'problem', None) or 'could not be read'}"


def parse_character_spec(data: bytes, character: str) -> CharacterSpec:
    """Validate the bytes of a ``character.yaml``; an empty file means "no extra information"."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise CharacterSpecError(
            character,
            f"is not UTF-8 text (byte {error.start})",
            "Save it as UTF-8 text",
        ) from error
    try:
        loaded = yaml.load(text, Loader=NoSexagesimalLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        raise CharacterSpecError(
            character,
            f"is not valid YAML{yaml_problem(error)}",
            yaml_fix(error),
        ) from error
    if loaded is None:
        return CharacterSpec()
    if not isinstance(loaded, dict):
        raise CharacterSpecError(
            character,
            f"must be a mapping of field: value, not a {type(loaded).__name__}",
            "Write one field per line, such as 'display_name: Ser Maren' then 'notes: a "
            'weathered knight\' (README "The inbox" lists every field)',
        )
    try:
        return CharacterSpec.model_validate(loaded)
    except ValidationError as error:
        raise _spec_error(error, character) from error
