"""Transport-neutral request and response values passed between the server and the API modules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from chargen_resources.emulator.lenient_json import LenientJsonError, loads_lenient
from chargen_resources.emulator.wire import ApiError, normalise_keys

MAX_JSON_BYTES = 256 * 1024 * 1024


@dataclass
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body_stream: BinaryIO
    content_length: int
    host_url: str  # scheme://host:port the client used to reach us
    route: tuple[str, ...] = ()  # regex groups of the matched route
    _body: bytes | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def read_body(self) -> bytes:
        if self._body is None:
            if self.content_length > MAX_JSON_BYTES:
                raise ApiError(
                    413,
                    f"Request body of {self.content_length} bytes is too large; "
                    "use the Files API for large inputs.",
                )
            self._body = self.body_stream.read(self.content_length) if self.content_length else b""
        return self._body

    def mark_consumed(self) -> None:
        """A handler that streamed the body itself (upload chunks) says so here."""
        self._body = b""

    def body_consumed(self) -> bool:
        return self.content_length == 0 or self._body is not None

    def json(self, allow_empty: bool = True) -> dict[str, Any]:
        """The body as a camelCase-normalised JSON object."""
        raw = self.read_body()
        if not raw.strip():
            if allow_empty:
                return {}
            raise ApiError(400, "The request body is empty; a JSON object is required.")
        value = parse_body_json(raw)
        if not isinstance(value, dict):
            raise ApiError(400, "Invalid JSON payload received. Expected a JSON object.")
        normalised: dict[str, Any] = normalise_keys(value)
        return normalised


def parse_body_json(raw: bytes) -> Any:
    """Strict JSON first; then the forgiving dialect Google's curl samples rely on."""
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ApiError(400, f"Invalid JSON payload received. {exc}.") from None
    except json.JSONDecodeError as strict_error:
        try:
            return loads_lenient(raw.decode("utf-8"))
        except (LenientJsonError, UnicodeDecodeError, RecursionError):
            raise ApiError(400, f"Invalid JSON payload received. {strict_error}.") from None


@dataclass
class JsonResponse:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    truncate: bool = False  # fault: send half of the body, then drop the connection

    @classmethod
    def error(cls, error: ApiError, headers: dict[str, str] | None = None) -> JsonResponse:
        return cls(error.http_status, error.body(), headers or {})


@dataclass
class FileResponse:
    """A download, sent chunk by chunk as produced. A body that ends before ``length`` bytes
    drops the connection: that is how a cut download looks to the client."""

    chunks: Iterator[bytes]
    length: int
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SseEvent:
    payload: dict[str, Any]
    cut: bool = False  # fault: send half of this event, then drop the connection


@dataclass
class SseResponse:
    events: Iterator[SseEvent]
    # Without ?alt=sse the service streams one JSON array of chunks instead of SSE events.
    json_array: bool = False


HttpResponse = JsonResponse | FileResponse | SseResponse
