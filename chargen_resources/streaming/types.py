"""Every event and block that flows between the streaming transforms.

Events are frozen, slotted dataclasses: a 4K image travels as a few hundred ``ImageDelta`` objects
and they must stay cheap. JSON shapes we read from Gemini (usage, error bodies) are pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel


class TokenUsage(BaseModel):
    """``usageMetadata`` of a response (a running total within a stream, not a delta)."""

    model_config = ConfigDict(
        frozen=True, populate_by_name=True, alias_generator=to_camel, extra="ignore"
    )

    prompt_token_count: int | None = None
    candidates_token_count: int | None = None
    thoughts_token_count: int | None = None
    cached_content_token_count: int | None = None
    total_token_count: int | None = None


def usage_of(value: Any) -> TokenUsage | None:
    """``usageMetadata`` (either spelling) as a TokenUsage; None when absent or malformed."""
    if not isinstance(value, dict):
        return None
    try:
        return TokenUsage.model_validate(value)
    except ValidationError:
        return None


def block_reason_of(feedback: Any) -> str | None:
    """``promptFeedback.blockReason`` (either spelling), when the prompt was blocked."""
    if not isinstance(feedback, dict):
        return None
    reason = feedback.get("blockReason", feedback.get("block_reason"))
    return str(reason) if reason else None


class LineError(BaseModel):
    """Why one batch output line produced no result: Google's status object, or our own verdict.

    Our own statuses: ``TRUNCATED`` (the input ended inside the line), ``MALFORMED`` (the line is
    not valid JSON or not an object), ``MISSING_RESPONSE`` (neither ``response`` nor ``error``).
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: int | None = None
    message: str = ""
    status: str | None = None


class GoogleErrorBody(BaseModel):
    """The ``error`` member of Google's JSON error shape ``{"error": {code, message, status}}``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    code: int | None = None
    message: str = ""
    status: str | None = None
    details: list[Any] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SseEvent:
    """One dispatched Server-Sent Event: the ``data`` lines joined by ``\\n``."""

    data: str
    event: str | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ImageStart:
    """An inline image begins. ``mime_type`` is sniffed from the data when the JSON gives none."""

    mime_type: str
    thought: bool = False


@dataclass(frozen=True, slots=True)
class ImageDelta:
    """Only the new base64 characters of the current image (never repeated, never the whole)."""

    data: str
    thought: bool = False


@dataclass(frozen=True, slots=True)
class ImageMarkedThought:
    """The image just streamed turned out to be a thought: its ``"thought": true`` came after
    its data (proto-JSON field order puts it there). Only the batch reader emits this; consumers
    must treat the preceding image run as a thought image."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str
    thought: bool = False


@dataclass(frozen=True, slots=True)
class StreamDone:
    """End of a ``streamGenerateContent`` stream with the last finish reason and usage seen."""

    finish_reason: str | None = None
    usage: TokenUsage | None = None
    block_reason: str | None = None


@dataclass(frozen=True, slots=True)
class LineStart:
    """A batch output line begins. ``index`` counts non-blank lines from 0."""

    index: int


@dataclass(frozen=True, slots=True)
class LineEnd:
    """A batch output line ended. ``key`` is only known here (it may follow ``response``)."""

    index: int
    key: str | None
    error: LineError | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    block_reason: str | None = None


@dataclass(frozen=True, slots=True)
class ImageBlock:
    """An image that is now fully in storage."""

    url: str
    key: str
    bucket: str | None
    width: int | None
    height: int | None
    format: str | None
    content_type: str
    content_length: int


@dataclass(frozen=True, slots=True)
class ThoughtImageSkipped:
    """A thought (draft) image was drained and not stored. ``base64_chars`` is its encoded size."""

    mime_type: str
    base64_chars: int


@dataclass(frozen=True, slots=True)
class ImageFailed:
    """An image's data was unusable (e.g. invalid base64); nothing was stored for it."""

    mime_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Consecutive text deltas joined. ``thought`` blocks hold the model's thinking summary."""

    text: str
    thought: bool = False


GeminiEvent = ImageStart | ImageDelta | TextDelta | StreamDone
BatchOutputEvent = LineStart | ImageStart | ImageDelta | ImageMarkedThought | TextDelta | LineEnd
PipelineEvent = (
    ImageStart | ImageDelta | ImageMarkedThought | TextDelta | StreamDone | LineStart | LineEnd
)
UploadedEvent = (
    ImageBlock | ThoughtImageSkipped | ImageFailed | TextDelta | StreamDone | LineStart | LineEnd
)
OutputBlock = (
    ImageBlock | ThoughtImageSkipped | ImageFailed | TextBlock | StreamDone | LineStart | LineEnd
)
