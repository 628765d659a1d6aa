"""parse_gemini_events: the three inline delivery modes, text, thoughts, usage, errors."""

from __future__ import annotations

import base64
import io
import json
import os
from typing import Any

import pytest
from PIL import Image

from chargen_resources.streaming import (
    GeminiProtocolError,
    GeminiStreamError,
    ImageDelta,
    ImageStart,
    SseEvent,
    StreamDone,
    TextDelta,
    TokenUsage,
    decode_base64,
    parse_gemini_events,
    parse_sse,
)


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def chunk(parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if "finishReason" in extra:
        candidate["finishReason"] = extra.pop("finishReason")
    return {"candidates": [candidate], **extra}


def inline(data: str, mime: str = "image/png", thought: bool = False) -> dict[str, Any]:
    part: dict[str, Any] = {"inlineData": {"mimeType": mime, "data": data}}
    if thought:
        part["thought"] = True
    return part


def sse_stream(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(b"data: " + json.dumps(item).encode() + b"\r\n\r\n" for item in chunks)


def cut_raw(raw: bytes, pieces: int) -> list[bytes]:
    """Split raw image bytes at uneven offsets (not multiples of 3), as a server might."""
    step = len(raw) // pieces + 1
    return [raw[index : index + step] for index in range(0, len(raw), step)]


def image_chunks(raw: bytes, mode: str, pieces: int = 5) -> list[dict[str, Any]]:
    if mode == "whole":
        return [chunk([inline(base64.b64encode(raw).decode())])]
    cuts = cut_raw(raw, pieces)
    if mode == "fragmented":  # each fragment encoded on its own (padding inside the stream)
        return [chunk([inline(base64.b64encode(piece).decode())]) for piece in cuts]
    so_far = b""
    chunks = []
    for piece in cuts:  # cumulative: every chunk re-encodes everything so far
        so_far += piece
        chunks.append(chunk([inline(base64.b64encode(so_far).decode())]))
    return chunks


def run(raw_stream: bytes, split: int = 997) -> list[Any]:
    pieces = [raw_stream[index : index + split] for index in range(0, len(raw_stream), split)]
    return list(parse_gemini_events(parse_sse(pieces)))


def images(events: list[Any]) -> list[tuple[ImageStart, bytes]]:
    """Each ImageStart with the decoded bytes of the deltas that follow it."""
    found: list[tuple[ImageStart, list[str]]] = []
    for event in events:
        if isinstance(event, ImageStart):
            found.append((event, []))
        elif isinstance(event, ImageDelta):
            found[-1][1].append(event.data)
    return [(start, b"".join(decode_base64(deltas))) for start, deltas in found]


@pytest.mark.parametrize("mode", ["whole", "fragmented", "cumulative"])
def test_delivery_modes_give_the_same_image_once(mode: str) -> None:
    raw = png()
    stream = [
        chunk([{"text": "Sketching", "thought": True}]),
        chunk([{"text": "Here is "}]),
        *image_chunks(raw, mode),
        chunk([], finishReason="STOP", usageMetadata={"promptTokenCount": 5, "totalTokenCount": 9}),
    ]
    events = run(sse_stream(stream))
    assert images(events) == [(ImageStart("image/png", False), raw)]
    base64_chars = sum(len(event.data) for event in events if isinstance(event, ImageDelta))
    assert base64_chars <= len(base64.b64encode(raw)) + 4 * 5  # never the repeated prefix
    assert [event for event in events if isinstance(event, TextDelta)] == [
        TextDelta("Sketching", thought=True),
        TextDelta("Here is "),
    ]
    assert events[-1] == StreamDone(
        finish_reason="STOP", usage=TokenUsage(prompt_token_count=5, total_token_count=9)
    )


@pytest.mark.parametrize("mode", ["whole", "fragmented", "cumulative"])
def test_thought_image_then_final_image(mode: str) -> None:
    draft, final = png((16, 16)), png((80, 60))
    draft_chunks = image_chunks(draft, mode)
    for item in draft_chunks:
        item["candidates"][0]["content"]["parts"][0]["thought"] = True
    stream = [*draft_chunks, chunk([{"text": "done"}]), *image_chunks(final, mode)]
    found = images(run(sse_stream(stream)))
    assert found == [
        (ImageStart("image/png", True), draft),
        (ImageStart("image/png", False), final),
    ]


def test_two_whole_images_in_a_row_are_two_images() -> None:
    first, second = png((32, 32)), png((32, 32))
    stream = image_chunks(first, "whole") + image_chunks(second, "whole")
    assert [data for _, data in images(run(sse_stream(stream)))] == [first, second]


def test_identical_repeat_of_a_whole_image_is_deduplicated() -> None:
    raw = png()
    stream = image_chunks(raw, "whole") * 2
    assert [data for _, data in images(run(sse_stream(stream)))] == [raw]


def test_mime_type_missing_is_sniffed() -> None:
    raw = png()
    part = {"inlineData": {"data": base64.b64encode(raw).decode()}}
    assert images(run(sse_stream([chunk([part])]))) == [(ImageStart("image/png"), raw)]


def test_text_only_response_and_block_reason() -> None:
    stream = [
        chunk([{"text": "Hel"}]),
        chunk([{"text": "lo"}], finishReason="STOP"),
        {"promptFeedback": {"blockReason": "SAFETY"}},
    ]
    assert run(sse_stream(stream)) == [
        TextDelta("Hel"),
        TextDelta("lo"),
        StreamDone(finish_reason="STOP", block_reason="SAFETY"),
    ]


def test_empty_stream_still_ends_with_done() -> None:
    assert list(parse_gemini_events([])) == [StreamDone()]


def test_error_chunk_raises_typed_error_after_earlier_events() -> None:
    stream = sse_stream([chunk([{"text": "a"}])]) + (
        b'data: {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}\r\n\r\n'
    )
    events = parse_gemini_events(parse_sse([stream]))
    assert next(events) == TextDelta("a")
    with pytest.raises(GeminiStreamError) as raised:
        next(events)
    assert (raised.value.code, raised.value.status, raised.value.message) == (
        500,
        "INTERNAL",
        "boom",
    )


def test_non_json_event_is_a_protocol_error() -> None:
    with pytest.raises(GeminiProtocolError, match="not JSON"):
        list(parse_gemini_events([SseEvent("not json")]))
