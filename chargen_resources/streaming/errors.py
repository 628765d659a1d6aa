"""Typed errors of the streaming engine. Each says what failed and what to do about it."""

from __future__ import annotations

from typing import Any


class StreamingError(Exception):
    """Base of every error raised by ``chargen_resources.streaming``."""


class GeminiApiError(StreamingError):
    """Google answered with its error shape ``{"error": {code, message, status}}``."""

    def __init__(
        self, code: int | None, status: str | None, message: str, details: Any = None
    ) -> None:
        self.code = code
        self.status = status
        self.message = message
        self.details = details
        super().__init__(f"{code} {status}: {message}")


class GeminiStreamError(GeminiApiError):
    """An error chunk arrived inside a ``streamGenerateContent`` stream (after HTTP 200)."""


class GeminiHttpError(GeminiApiError):
    """The HTTP status was not 200; ``code`` is the HTTP status, the rest comes from the body."""


class GeminiProtocolError(StreamingError):
    """The stream did not look like Gemini's wire format (e.g. an SSE event that is not JSON)."""


class StreamTimeoutError(StreamingError):
    """The request ran past its deadline and was cancelled (connection closed)."""


class Base64DecodeError(StreamingError, ValueError):
    """Invalid base64 input; ``offset`` is the character position in the whole stream."""

    def __init__(self, message: str, offset: int) -> None:
        self.offset = offset
        super().__init__(f"invalid base64 at character {offset}: {message}")


class StorageKeyError(StreamingError, ValueError):
    """A storage key would escape the sink's root or is otherwise unusable."""
