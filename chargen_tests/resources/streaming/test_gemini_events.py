"""parse_gemini_events: the three inline delivery modes, text, thoughts, usage, errors."""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import random
from typing import Any

import pytest
from PIL import Image

from chargen_resources.streaming import (
    GeminiApiError,
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


# ---- vectors

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def event(body: dict[str, Any]) -> SseEvent:
    return SseEvent(json.dumps(body))


def vector_chunk(parts: list[dict[str, Any]], **candidate: Any) -> SseEvent:
    return event({"candidates": [{"content": {"role": "model", "parts": parts}, **candidate}]})


def vector_inline(
    raw: bytes, mime: str | None = "image/png", thought: bool = False
) -> dict[str, Any]:
    data: dict[str, Any] = {"data": base64.b64encode(raw).decode()}
    if mime is not None:
        data["mimeType"] = mime
    part: dict[str, Any] = {"inlineData": data}
    if thought:
        part["thought"] = True
    return part


def pieces(raw: bytes, mode: str, cuts: list[int]) -> list[bytes]:
    """The raw image as a server sends it: fragments, or growing prefixes (cumulative)."""
    bounds = [0, *cuts, len(raw)]
    if mode == "fragmented":
        return [raw[a:b] for a, b in itertools.pairwise(bounds)]
    return [raw[:b] for b in bounds[1:]]


def vector_images(events: list[Any]) -> list[tuple[ImageStart, bytes]]:
    found: list[tuple[ImageStart, list[str]]] = []
    for item in events:
        if isinstance(item, ImageStart):
            found.append((item, []))
        elif isinstance(item, ImageDelta):
            assert found, "an ImageDelta before any ImageStart"
            found[-1][1].append(item.data)
    return [(start, b"".join(decode_base64(deltas))) for start, deltas in found]


def vector_run(events: list[SseEvent]) -> list[Any]:
    return list(parse_gemini_events(events))


@pytest.mark.parametrize("mode", ["fragmented", "cumulative"])
@pytest.mark.parametrize("seed", range(40))
def test_random_cuts_give_the_image_exactly_once(mode: str, seed: int) -> None:
    rng = random.Random(seed)
    raw = PNG_HEAD + rng.randbytes(rng.randint(0, 700))
    cuts = sorted(rng.sample(range(1, len(raw)), rng.randint(1, min(9, len(raw) - 1))))
    stream = [vector_chunk([vector_inline(piece)]) for piece in pieces(raw, mode, cuts)]
    assert vector_images(vector_run(stream)) == [(ImageStart("image/png"), raw)]


@pytest.mark.parametrize("mode", ["fragmented", "cumulative"])
@pytest.mark.parametrize("period", [1, 3, 4, 256])
def test_periodic_data_in_equal_fragments_is_not_mistaken_for_repeats(
    mode: str, period: int
) -> None:
    # Every fragment of such data equals the first one; only the mode tells them apart.
    raw = bytes(range(period)) * (3072 // period)
    cuts = list(range(768, len(raw), 768))
    stream = [
        vector_chunk([vector_inline(piece, "image/webp")]) for piece in pieces(raw, mode, cuts)
    ]
    assert vector_images(vector_run(stream)) == [(ImageStart("image/webp"), raw)]


def test_cumulative_where_each_chunk_re_encodes_the_last_group() -> None:
    # Prefix lengths 1, 2, 4, 5, 7 bytes: the last base64 group changes at each step.
    raw = PNG_HEAD + b"xyz"
    stream = [vector_chunk([vector_inline(raw[:end])]) for end in (1, 2, 4, 5, 7, len(raw))]
    encodings = [base64.b64encode(raw[:end]).decode() for end in (1, 2, 4)]
    assert encodings == ["iQ==", "iVA=", "iVBORw=="]  # the groups really are re-encoded
    events = vector_run(stream)
    assert vector_images(events) == [(ImageStart("image/png"), raw)]
    deltas = "".join(item.data for item in events if isinstance(item, ImageDelta))
    assert deltas == base64.b64encode(raw).decode()  # no character repeated


def test_cumulative_final_repeat_is_not_a_second_image() -> None:
    raw = PNG_HEAD + bytes(300)
    stream = [
        vector_chunk([vector_inline(raw[:100])]),
        vector_chunk([vector_inline(raw)]),
        vector_chunk([vector_inline(raw)]),
    ]
    assert vector_images(vector_run(stream)) == [(ImageStart("image/png"), raw)]


def test_mixed_text_image_thoughts_and_done() -> None:
    draft, final = PNG_HEAD + b"draft", PNG_HEAD + b"final image"
    stream = [
        vector_chunk([{"text": "Thinking about ", "thought": True}]),
        vector_chunk([{"text": "a knight", "thought": True}, vector_inline(draft, thought=True)]),
        vector_chunk([{"text": "Here is"}, vector_inline(final[:10])]),
        vector_chunk([vector_inline(final[10:]), {"text": " it."}], finishReason="STOP"),
        event(
            {
                "candidates": [{"content": {"parts": []}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 3, "thoughtsTokenCount": 4},
            }
        ),
    ]
    events = vector_run(stream)
    assert [item for item in events if isinstance(item, TextDelta)] == [
        TextDelta("Thinking about ", True),
        TextDelta("a knight", True),
        TextDelta("Here is"),
        TextDelta(" it."),
    ]
    assert vector_images(events) == [
        (ImageStart("image/png", thought=True), draft),
        (ImageStart("image/png"), final),
    ]
    assert events[-1] == StreamDone(
        "STOP", TokenUsage(prompt_token_count=3, thoughts_token_count=4)
    )
    assert sum(isinstance(item, StreamDone) for item in events) == 1


def test_usage_on_the_final_chunk_only() -> None:
    events = vector_run(
        [
            vector_chunk([{"text": "a"}]),
            event(
                {
                    "candidates": [{"finishReason": "STOP"}],
                    "usageMetadata": {"totalTokenCount": 1300},
                }
            ),
        ]
    )
    assert events[-1] == StreamDone("STOP", TokenUsage(total_token_count=1300))


def test_image_safety_without_content() -> None:
    events = vector_run([event({"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]})])
    assert events == [StreamDone("IMAGE_SAFETY")]


def test_prompt_blocked_without_candidates() -> None:
    body = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 9},
    }
    assert vector_run([event(body)]) == [
        StreamDone(None, TokenUsage(prompt_token_count=9), "PROHIBITED_CONTENT")
    ]


def test_snake_case_keys_everywhere() -> None:
    raw = PNG_HEAD + b"snake"
    body = {
        "candidates": [
            {
                "content": {
                    "parts": [
                        {
                            "inline_data": {
                                "mime_type": "image/png",
                                "data": base64.b64encode(raw).decode(),
                            }
                        }
                    ]
                },
                "finish_reason": "STOP",
            }
        ],
        "usage_metadata": {"prompt_token_count": 2, "total_token_count": 5},
        "prompt_feedback": {"block_reason": "OTHER"},
    }
    events = vector_run([event(body)])
    assert vector_images(events) == [(ImageStart("image/png"), raw)]
    assert events[-1] == StreamDone(
        "STOP", TokenUsage(prompt_token_count=2, total_token_count=5), "OTHER"
    )


def test_candidate_zero_is_followed_whatever_its_position() -> None:
    mine, other = PNG_HEAD + b"candidate zero", PNG_HEAD + b"candidate one"
    stream = [
        event(
            {
                "candidates": [
                    {"index": 1, "content": {"parts": [vector_inline(other[:9])]}},
                    {"index": 0, "content": {"parts": [vector_inline(mine[:9])]}},
                ]
            }
        ),
        event({"candidates": [{"index": 1, "content": {"parts": [vector_inline(other[9:])]}}]}),
        event(
            {
                "candidates": [
                    {
                        "index": 0,
                        "content": {"parts": [vector_inline(mine[9:])]},
                        "finishReason": "STOP",
                    }
                ]
            }
        ),
    ]
    events = vector_run(stream)
    assert vector_images(events) == [(ImageStart("image/png"), mine)]
    assert events[-1].finish_reason == "STOP"


@pytest.mark.parametrize(
    ("error", "code", "status", "message"),
    [
        (
            {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"},
            429,
            "RESOURCE_EXHAUSTED",
            "Resource exhausted",
        ),
        ({"code": 500, "message": "boom"}, 500, None, "boom"),
        ({"message": "only a message"}, None, None, "only a message"),
    ],
)
def test_error_chunk_is_typed(
    error: dict[str, Any], code: int | None, status: str | None, message: str
) -> None:
    stream = iter(
        [
            vector_chunk([{"text": "partial"}]),
            event({"error": error}),
            vector_chunk([{"text": "never"}]),
        ]
    )
    events = parse_gemini_events(stream)
    assert next(events) == TextDelta("partial")
    with pytest.raises(GeminiStreamError) as raised:
        next(events)
    assert isinstance(raised.value, GeminiApiError)
    assert (raised.value.code, raised.value.status, raised.value.message) == (code, status, message)
    assert message in str(raised.value)


@pytest.mark.parametrize("data", ["not json", "[1, 2]", '"text"', "", "{"])
def test_non_object_events_are_protocol_errors(data: str) -> None:
    with pytest.raises(GeminiProtocolError):
        vector_run([SseEvent(data)])


def test_mime_type_missing_is_sniffed_for_each_format() -> None:
    for raw, mime in [
        (PNG_HEAD + b"1234", "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(20), "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ]:
        assert vector_images(vector_run([vector_chunk([vector_inline(raw, mime=None)])])) == [
            (ImageStart(mime), raw)
        ]


def test_a_new_mime_type_starts_a_new_image() -> None:
    first, second = bytes(range(30)), bytes(range(30, 60))
    stream = [
        vector_chunk([vector_inline(first, "image/png")]),
        vector_chunk([vector_inline(second, "image/jpeg")]),
    ]
    assert vector_images(vector_run(stream)) == [
        (ImageStart("image/png"), first),
        (ImageStart("image/jpeg"), second),
    ]
