"""``StreamingGenerateClient``: POST ``:streamGenerateContent?alt=sse`` and yield the raw body bytes.

The request body is produced as an iterator of byte slices with a known length (so it goes out
with ``Content-Length``, not chunked): reference images are base64-encoded 48 KiB at a time into
64 KiB slices straight from bytes or a file, never one big JSON string. It does not parse SSE;
that is the pipeline's job (``parse_sse`` then ``parse_gemini_events``).
"""

from __future__ import annotations

import binascii
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from chargen_resources.streaming.api_adapter import GeminiApiAdapter
from chargen_resources.streaming.errors import GeminiHttpError, StreamTimeoutError
from chargen_resources.streaming.types import GoogleErrorBody

if TYPE_CHECKING:
    from httpx2 import Client as HttpClient

RAW_SLICE_BYTES = 48 * 1024  # becomes 64 KiB of base64
MAX_ERROR_BODY_BYTES = 1024 * 1024
DEFAULT_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class SizedChunks:
    """Bytes read from elsewhere (a store) on demand, chunk by chunk, of a known total size."""

    size: int
    chunks: Callable[[], Iterator[bytes]]


@dataclass(frozen=True, slots=True)
class InlineDataPart:
    """Raw bytes (or a file, or a store's chunks) sent inline; encoded to base64 slice by
    slice, so neither the base64 nor (for a file or chunks) the bytes sit whole in memory."""

    mime_type: str
    data: bytes | Path | SizedChunks

    def size(self) -> int:
        if isinstance(self.data, SizedChunks):
            return self.data.size
        return self.data.stat().st_size if isinstance(self.data, Path) else len(self.data)

    def raw_slices(self) -> Iterator[bytes]:
        if isinstance(self.data, SizedChunks):
            yield from self.data.chunks()
            return
        if isinstance(self.data, Path):
            with self.data.open("rb") as handle:
                while piece := handle.read(RAW_SLICE_BYTES):
                    yield piece
            return
        view = memoryview(self.data)
        for start in range(0, len(view), RAW_SLICE_BYTES):
            yield bytes(view[start : start + RAW_SLICE_BYTES])


RequestPart = TextPart | InlineDataPart


@dataclass(frozen=True, slots=True)
class RequestContent:
    role: str
    parts: Sequence[RequestPart]


@dataclass(frozen=True, slots=True)
class _Base64Segment:
    part: InlineDataPart

    def length(self) -> int:
        return 4 * -(-self.part.size() // 3)

    def slices(self) -> Iterator[bytes]:
        carry = b""
        for raw in self.part.raw_slices():
            data = carry + raw if carry else raw
            usable = len(data) - len(data) % 3
            if usable:
                yield binascii.b2a_base64(data[:usable], newline=False)
            carry = data[usable:]
        if carry:
            yield binascii.b2a_base64(carry, newline=False)


class RequestBody:
    """A JSON ``GenerateContentRequest`` as byte slices; ``len()`` is known before sending."""

    def __init__(self, segments: list[bytes | _Base64Segment]) -> None:
        self._segments = segments
        self.length = sum(
            len(segment) if isinstance(segment, bytes) else segment.length() for segment in segments
        )

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        for segment in self._segments:
            if isinstance(segment, bytes):
                yield segment
            else:
                yield from segment.slices()


def build_request_body(
    contents: Sequence[RequestContent],
    generation_config: Mapping[str, Any] | None = None,
    system_instruction: str | None = None,
    safety_settings: Sequence[Mapping[str, str]] | None = None,
) -> RequestBody:
    """The request JSON (camelCase, as the REST API expects) without ever holding it whole."""
    segments: list[bytes | _Base64Segment] = [b'{"contents":[']
    for content_index, content in enumerate(contents):
        if content_index:
            segments.append(b",")
        segments.append(b'{"role":' + _json(content.role) + b',"parts":[')
        for part_index, part in enumerate(content.parts):
            if part_index:
                segments.append(b",")
            if isinstance(part, TextPart):
                segments.append(_json({"text": part.text}))
            else:
                segments.append(b'{"inlineData":{"mimeType":' + _json(part.mime_type))
                segments.append(b',"data":"')
                segments.append(_Base64Segment(part))
                segments.append(b'"}}')
        segments.append(b"]}")
    segments.append(b"]")
    if system_instruction is not None:
        segments.append(b',"systemInstruction":' + _json({"parts": [{"text": system_instruction}]}))
    if safety_settings:
        segments.append(b',"safetySettings":' + _json([dict(s) for s in safety_settings]))
    if generation_config:
        segments.append(b',"generationConfig":' + _json(dict(generation_config)))
    segments.append(b"}")
    return RequestBody(segments)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class StreamingGenerateClient:
    """Sends one streaming generation request per ``stream`` call. Cheap to construct."""

    def __init__(self, adapter: GeminiApiAdapter, http_client: HttpClient | None = None) -> None:
        self._adapter = adapter
        self._http_client = http_client

    def stream(
        self,
        model: str,
        contents: Sequence[RequestContent] | Sequence[RequestPart],
        generation_config: Mapping[str, Any] | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        system_instruction: str | None = None,
        safety_settings: Sequence[Mapping[str, str]] | None = None,
    ) -> Iterator[bytes]:
        """Yield the SSE response body as it arrives.

        ``contents`` may be a list of parts (one user turn). ``timeout`` (seconds) bounds the
        whole request: when it passes, the connection is closed and ``StreamTimeoutError`` is
        raised. A non-200 answer raises ``GeminiHttpError`` with Google's code/status/message.
        """
        body = build_request_body(
            _as_contents(contents), generation_config, system_instruction, safety_settings
        )
        target = self._adapter.request_target(model, "streamGenerateContent", "alt=sse")
        headers = {
            **target.headers,
            "Content-Length": str(len(body)),
            "Accept": "text/event-stream",
        }
        client, owned = http_client_for(self._adapter, self._http_client)
        deadline = time.monotonic() + timeout
        try:
            yield from _send(client, target.url, headers, body, timeout, deadline, model)
        finally:
            if owned:
                client.close()


def _as_contents(
    contents: Sequence[RequestContent] | Sequence[RequestPart],
) -> list[RequestContent]:
    if all(isinstance(item, RequestContent) for item in contents):
        return [item for item in contents if isinstance(item, RequestContent)]
    parts = [item for item in contents if isinstance(item, TextPart | InlineDataPart)]
    if len(parts) != len(contents):
        raise TypeError("contents must be all RequestContent or all TextPart/InlineDataPart")
    return [RequestContent(role="user", parts=parts)]


def _send(
    client: HttpClient,
    url: str,
    headers: dict[str, str],
    body: RequestBody,
    timeout: float,
    deadline: float,
    model: str,
) -> Iterator[bytes]:
    import httpx2

    try:
        with client.stream(
            "POST", url, content=iter(body), headers=headers, timeout=httpx2.Timeout(timeout)
        ) as response:
            if response.status_code != 200:
                raise http_error(response, model)
            for chunk in response.iter_bytes():
                if time.monotonic() > deadline:
                    raise _timeout(timeout, model)
                yield chunk
    except httpx2.TimeoutException:
        raise _timeout(timeout, model) from None


def _timeout(timeout: float, model: str) -> StreamTimeoutError:
    return StreamTimeoutError(
        f"streamGenerateContent for {model} passed its {timeout:g} s deadline and was cancelled; "
        "retry, or raise the timeout for large images"
    )


def http_error(response: Any, subject: str) -> GeminiHttpError:
    """Google's ``{"error": ...}`` of a non-2xx streamed response (its first MiB at most)."""
    raw = bytearray()
    for piece in response.iter_bytes():
        raw += piece
        if len(raw) >= MAX_ERROR_BODY_BYTES:
            break
    text = raw.decode("utf-8", errors="replace")
    details: Any = None
    try:
        details = json.loads(text)
        error = GoogleErrorBody.model_validate(details["error"])
    except (ValueError, KeyError, TypeError, ValidationError):
        return GeminiHttpError(
            response.status_code, response.reason_phrase, f"{subject}: {text[:2000]}", details
        )
    return GeminiHttpError(
        response.status_code, error.status or response.reason_phrase, error.message, details
    )


def http_client_for(adapter: GeminiApiAdapter, given: HttpClient | None) -> tuple[HttpClient, bool]:
    """The HTTP client to send with (the one given, else the SDK's own), and whether we made
    it (and so must close it)."""
    client = given or adapter.http_client()
    if client is not None:
        return client, False
    import httpx2

    return httpx2.Client(follow_redirects=True), True
