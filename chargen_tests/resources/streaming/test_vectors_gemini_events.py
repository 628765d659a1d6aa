"""Spec vectors for parse_gemini_events: delivery modes on awkward data, key spellings, errors."""

from __future__ import annotations

import base64
import itertools
import json
import random
from typing import Any

import pytest

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
)

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def event(body: dict[str, Any]) -> SseEvent:
    return SseEvent(json.dumps(body))


def chunk(parts: list[dict[str, Any]], **candidate: Any) -> SseEvent:
    return event({"candidates": [{"content": {"role": "model", "parts": parts}, **candidate}]})


def inline(raw: bytes, mime: str | None = "image/png", thought: bool = False) -> dict[str, Any]:
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


def images(events: list[Any]) -> list[tuple[ImageStart, bytes]]:
    found: list[tuple[ImageStart, list[str]]] = []
    for item in events:
        if isinstance(item, ImageStart):
            found.append((item, []))
        elif isinstance(item, ImageDelta):
            assert found, "an ImageDelta before any ImageStart"
            found[-1][1].append(item.data)
    return [(start, b"".join(decode_base64(deltas))) for start, deltas in found]


def run(events: list[SseEvent]) -> list[Any]:
    return list(parse_gemini_events(events))


@pytest.mark.parametrize("mode", ["fragmented", "cumulative"])
@pytest.mark.parametrize("seed", range(40))
def test_random_cuts_give_the_image_exactly_once(mode: str, seed: int) -> None:
    rng = random.Random(seed)
    raw = PNG_HEAD + rng.randbytes(rng.randint(0, 700))
    cuts = sorted(rng.sample(range(1, len(raw)), rng.randint(1, min(9, len(raw) - 1))))
    stream = [chunk([inline(piece)]) for piece in pieces(raw, mode, cuts)]
    assert images(run(stream)) == [(ImageStart("image/png"), raw)]


@pytest.mark.parametrize("mode", ["fragmented", "cumulative"])
@pytest.mark.parametrize("period", [1, 3, 4, 256])
def test_periodic_data_in_equal_fragments_is_not_mistaken_for_repeats(
    mode: str, period: int
) -> None:
    # Every fragment of such data equals the first one; only the mode tells them apart.
    raw = bytes(range(period)) * (3072 // period)
    cuts = list(range(768, len(raw), 768))
    stream = [chunk([inline(piece, "image/webp")]) for piece in pieces(raw, mode, cuts)]
    assert images(run(stream)) == [(ImageStart("image/webp"), raw)]


def test_cumulative_where_each_chunk_re_encodes_the_last_group() -> None:
    # Prefix lengths 1, 2, 4, 5, 7 bytes: the last base64 group changes at each step.
    raw = PNG_HEAD + b"xyz"
    stream = [chunk([inline(raw[:end])]) for end in (1, 2, 4, 5, 7, len(raw))]
    encodings = [base64.b64encode(raw[:end]).decode() for end in (1, 2, 4)]
    assert encodings == ["iQ==", "iVA=", "iVBORw=="]  # the groups really are re-encoded
    events = run(stream)
    assert images(events) == [(ImageStart("image/png"), raw)]
    deltas = "".join(item.data for item in events if isinstance(item, ImageDelta))
    assert deltas == base64.b64encode(raw).decode()  # no character repeated


def test_cumulative_final_repeat_is_not_a_second_image() -> None:
    raw = PNG_HEAD + bytes(300)
    stream = [chunk([inline(raw[:100])]), chunk([inline(raw)]), chunk([inline(raw)])]
    assert images(run(stream)) == [(ImageStart("image/png"), raw)]


def test_mixed_text_image_thoughts_and_done() -> None:
    draft, final = PNG_HEAD + b"draft", PNG_HEAD + b"final image"
    stream = [
        chunk([{"text": "Thinking about ", "thought": True}]),
        chunk([{"text": "a knight", "thought": True}, inline(draft, thought=True)]),
        chunk([{"text": "Here is"}, inline(final[:10])]),
        chunk([inline(final[10:]), {"text": " it."}], finishReason="STOP"),
        event(
            {
                "candidates": [{"content": {"parts": []}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 3, "thoughtsTokenCount": 4},
            }
        ),
    ]
    events = run(stream)
    assert [item for item in events if isinstance(item, TextDelta)] == [
        TextDelta("Thinking about ", True),
        TextDelta("a knight", True),
        TextDelta("Here is"),
        TextDelta(" it."),
    ]
    assert images(events) == [
        (ImageStart("image/png", thought=True), draft),
        (ImageStart("image/png"), final),
    ]
    assert events[-1] == StreamDone(
        "STOP", TokenUsage(prompt_token_count=3, thoughts_token_count=4)
    )
    assert sum(isinstance(item, StreamDone) for item in events) == 1


def test_usage_on_the_final_chunk_only() -> None:
    events = run(
        [
            chunk([{"text": "a"}]),
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
    events = run([event({"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]})])
    assert events == [StreamDone("IMAGE_SAFETY")]


def test_prompt_blocked_without_candidates() -> None:
    body = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 9},
    }
    assert run([event(body)]) == [
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
    events = run([event(body)])
    assert images(events) == [(ImageStart("image/png"), raw)]
    assert events[-1] == StreamDone(
        "STOP", TokenUsage(prompt_token_count=2, total_token_count=5), "OTHER"
    )


def test_candidate_zero_is_followed_whatever_its_position() -> None:
    mine, other = PNG_HEAD + b"candidate zero", PNG_HEAD + b"candidate one"
    stream = [
        event(
            {
                "candidates": [
                    {"index": 1, "content": {"parts": [inline(other[:9])]}},
                    {"index": 0, "content": {"parts": [inline(mine[:9])]}},
                ]
            }
        ),
        event({"candidates": [{"index": 1, "content": {"parts": [inline(other[9:])]}}]}),
        event(
            {
                "candidates": [
                    {"index": 0, "content": {"parts": [inline(mine[9:])]}, "finishReason": "STOP"}
                ]
            }
        ),
    ]
    events = run(stream)
    assert images(events) == [(ImageStart("image/png"), mine)]
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
        [chunk([{"text": "partial"}]), event({"error": error}), chunk([{"text": "never"}])]
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
        run([SseEvent(data)])


def test_mime_type_missing_is_sniffed_for_each_format() -> None:
    for raw, mime in [
        (PNG_HEAD + b"1234", "image/png"),
        (b"\xff\xd8\xff\xe0" + bytes(20), "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ]:
        assert images(run([chunk([inline(raw, mime=None)])])) == [(ImageStart(mime), raw)]


def test_a_new_mime_type_starts_a_new_image() -> None:
    first, second = bytes(range(30)), bytes(range(30, 60))
    stream = [chunk([inline(first, "image/png")]), chunk([inline(second, "image/jpeg")])]
    assert images(run(stream)) == [
        (ImageStart("image/png"), first),
        (ImageStart("image/jpeg"), second),
    ]
