"""``parse_gemini_events``: SSE events of ``streamGenerateContent`` to typed Gemini events.

Each SSE event holds one ``GenerateContentResponse`` chunk (already whole in memory, as the wire
sends it). Inline images reach us in one of three ways, told apart per chunk:

* ``whole``: one chunk carries the complete image;
* ``fragmented``: each chunk carries the next piece (Vertex AI);
* ``cumulative``: each chunk repeats everything so far plus a new piece (Gemini Developer API).

Consumers only ever see the new base64 characters in ``ImageDelta``. An image run ends at the next
image start or at the end of the stream; a new run starts when the mime type or the thought flag
changes, or when data that is not a continuation begins with an image signature.

The second chunk of a run decides its delivery mode, which then holds for the run. It is
cumulative only when it repeats everything seen and adds to it (or is an exact repeat that starts
with an image signature, i.e. a resent whole image). So a fragment that merely happens to equal
the data seen so far (periodic data, equal-sized fragments) is not mistaken for a repeat.

Keys are read in camelCase (the REST wire format) and in snake_case (what proto-JSON parsers also
accept and what SDK-dumped objects contain). With several candidates, candidate 0 is followed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chargen_resources.streaming.errors import GeminiProtocolError, GeminiStreamError
from chargen_resources.streaming.types import (
    GeminiEvent,
    ImageDelta,
    ImageStart,
    SseEvent,
    StreamDone,
    TextDelta,
    TokenUsage,
    block_reason_of,
    usage_of,
)

# Base64 of the first bytes of PNG, JPEG, RIFF (WEBP), GIF: where a new image begins.
IMAGE_SIGNATURES_BASE64 = ("iVBORw0KGg", "/9j/", "_9j_", "UklGR", "R0lGOD")
_SAMPLE = 256  # characters compared at each end of what was seen, to recognise repetition


@dataclass
class _ImageRun:
    """The image being streamed: what was emitted, and the provisional last base64 group.

    The last group of a chunk is held back when it is padded or incomplete: in cumulative
    delivery the next chunk re-encodes those bytes differently (``QQ==`` becomes ``QUJD``), so
    only complete, unpadded groups are confirmed. The held group is emitted when a fragment
    follows or the run ends.
    """

    mime_type: str
    thought: bool
    emitted: int = 0
    head: str = ""
    tail: str = ""
    held: str = ""
    mode: str = "undecided"  # then "cumulative" or "fragmented", from the run's second chunk

    def is_cumulative(self, data: str) -> bool:
        """Classify the next chunk of this run (and fix the run's mode on its second chunk)."""
        if self.mode == "fragmented":
            return False
        repeats = self._repeats_what_was_seen(data)
        if self.mode == "undecided":
            grows = len(data.rstrip("=")) > self.emitted + len(self.held.rstrip("="))
            repeats = repeats and (grows or data.startswith(IMAGE_SIGNATURES_BASE64))
            self.mode = "cumulative" if repeats else "fragmented"
        return repeats

    def _repeats_what_was_seen(self, data: str) -> bool:
        """True when ``data`` starts with everything emitted (sampled at both ends)."""
        if self.emitted == 0:
            stem = self.held.rstrip("=")[:-1] or self.held[:1]
            return bool(stem) and data.startswith(stem)
        return (
            len(data) >= self.emitted
            and data.startswith(self.head)
            and data[self.emitted - len(self.tail) : self.emitted] == self.tail
        )

    def cumulative(self, data: str) -> list[str]:
        self.held = ""
        return self._take(data[self.emitted :])

    def fragment(self, data: str) -> list[str]:
        return self._take(self.held + data)

    def flush(self) -> list[str]:
        held, self.held = self.held, ""
        return [held] if held else []

    def _take(self, data: str) -> list[str]:
        """Emit the confirmed groups of ``data`` and hold its provisional tail."""
        confirmed = len(data) - len(data) % 4
        if confirmed and data.endswith("=") and len(data) % 4 == 0:
            confirmed -= 4
        new, self.held = data[:confirmed], data[confirmed:]
        if new:
            if len(self.head) < _SAMPLE:
                self.head = (self.head + new)[:_SAMPLE]
            self.tail = (self.tail + new)[-_SAMPLE:]
            self.emitted += len(new)
        return [new] if new else []


def parse_gemini_events(sse: Iterable[SseEvent]) -> Iterator[GeminiEvent]:
    """Yield typed events for each chunk, then one ``StreamDone`` when the stream ends.

    Raises ``GeminiStreamError`` on an error chunk and ``GeminiProtocolError`` on a chunk that is
    not a JSON object.
    """
    run: _ImageRun | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    block_reason: str | None = None
    for event in sse:
        chunk = _load_chunk(event.data)
        _raise_if_error(chunk)
        usage = usage_of(_either(chunk, "usageMetadata", "usage_metadata")) or usage
        feedback = _either(chunk, "promptFeedback", "prompt_feedback")
        block_reason = block_reason_of(feedback) or block_reason
        candidate = _first_candidate(chunk)
        reason = _either(candidate, "finishReason", "finish_reason")
        if isinstance(reason, str) and reason:
            finish_reason = reason
        for part in _parts(candidate):
            thought = part.get("thought") is True
            if isinstance(part.get("text"), str):
                if part["text"]:
                    yield TextDelta(text=part["text"], thought=thought)
                continue
            inline = part.get("inlineData", part.get("inline_data"))
            if not isinstance(inline, dict) or not isinstance(inline.get("data"), str):
                continue
            mime_type = str(inline.get("mimeType") or inline.get("mime_type") or "")
            run, events = _image_events(run, inline["data"], mime_type, thought)
            yield from events
    if run is not None:
        yield from _deltas(run.flush(), run.thought)
    yield StreamDone(finish_reason=finish_reason, usage=usage, block_reason=block_reason)


def _deltas(pieces: list[str], thought: bool) -> list[GeminiEvent]:
    return [ImageDelta(data=piece, thought=thought) for piece in pieces]


def _image_events(
    run: _ImageRun | None, data: str, mime_type: str, thought: bool
) -> tuple[_ImageRun, list[GeminiEvent]]:
    """Classify one inline data part against the current run; return the run and its events."""
    events: list[GeminiEvent] = []
    if run is not None:
        same_kind = (mime_type or run.mime_type) == run.mime_type and thought == run.thought
        if same_kind and run.is_cumulative(data):
            return run, _deltas(run.cumulative(data), thought)
        if same_kind and not data.startswith(IMAGE_SIGNATURES_BASE64):
            return run, _deltas(run.fragment(data), thought)
        events = _deltas(run.flush(), run.thought)
    mime_type = mime_type or sniff_mime_type(data)
    run = _ImageRun(mime_type=mime_type, thought=thought)
    events.append(ImageStart(mime_type=mime_type, thought=thought))
    events.extend(_deltas(run.fragment(data), thought))
    return run, events


def sniff_mime_type(base64_prefix: str) -> str:
    """Mime type from the first base64 characters of an image, for parts that omit it."""
    if base64_prefix.startswith("iVBORw0KGg"):
        return "image/png"
    if base64_prefix.startswith(("/9j/", "_9j_")):
        return "image/jpeg"
    if base64_prefix.startswith("UklGR"):
        return "image/webp"
    if base64_prefix.startswith("R0lGOD"):
        return "image/gif"
    return "application/octet-stream"


def _load_chunk(data: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except json.JSONDecodeError as error:
        raise GeminiProtocolError(
            f"a stream event is not JSON ({error.msg} at character {error.pos}); "
            f"it starts with {data[:80]!r}"
        ) from None
    if not isinstance(chunk, dict):
        raise GeminiProtocolError(f"a stream event is JSON but not an object: {data[:80]!r}")
    return chunk


def _raise_if_error(chunk: dict[str, Any]) -> None:
    error = chunk.get("error")
    if error is None:
        return
    if not isinstance(error, dict):
        raise GeminiStreamError(None, None, str(error), chunk)
    code = error.get("code")
    raise GeminiStreamError(
        code if isinstance(code, int) else None,
        str(error["status"]) if error.get("status") is not None else None,
        str(error.get("message", "")),
        chunk,
    )


def _either(mapping: dict[str, Any], camel: str, snake: str) -> Any:
    value = mapping.get(camel)
    return mapping.get(snake) if value is None else value


def _first_candidate(chunk: dict[str, Any]) -> dict[str, Any]:
    """Candidate 0: the one whose ``index`` is 0 or absent (proto-JSON omits a zero index).

    With ``candidateCount`` > 1 a chunk may carry only another candidate's piece; following
    position 0 blindly would splice two candidates' images together.
    """
    candidates = chunk.get("candidates")
    if not isinstance(candidates, list):
        return {}
    for candidate in candidates:
        if isinstance(candidate, dict) and candidate.get("index") in (None, 0):
            return candidate
    return {}


def _parts(candidate: dict[str, Any]) -> list[dict[str, Any]]:
    content = candidate.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
        return []
    return [part for part in content["parts"] if isinstance(part, dict)]
