"""parse_sse against the WHATWG rules, each input split at every byte offset (and byte by byte)."""

from __future__ import annotations

import base64
import json
import os
import random
import re
from collections.abc import Iterator

import pytest

from chargen_resources.streaming import SseEvent, parse_sse


def splits(raw: bytes) -> Iterator[list[bytes]]:
    """The input whole, cut in two at every offset, and one byte per chunk."""
    yield [raw]
    for offset in range(len(raw) + 1):
        yield [raw[:offset], raw[offset:]]
    yield [raw[index : index + 1] for index in range(len(raw))]


CASES: list[tuple[str, bytes, list[SseEvent]]] = [
    ("lf", b"data: a\n\ndata: b\n\n", [SseEvent("a"), SseEvent("b")]),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [SseEvent("a"), SseEvent("b")]),
    ("cr", b"data: a\r\rdata: b\r\r", [SseEvent("a"), SseEvent("b")]),
    ("mixed line ends", b"data: a\r\n\rdata: b\n\r\n", [SseEvent("a"), SseEvent("b")]),
    ("comment", b": keepalive\ndata: a\n: another\n\n", [SseEvent("a")]),
    ("multi-line data", b"data: one\ndata: two\r\ndata:three\n\n", [SseEvent("one\ntwo\nthree")]),
    ("one optional space only", b"data:  two spaces\n\n", [SseEvent(" two spaces")]),
    ("no space", b"data:x\n\n", [SseEvent("x")]),
    ("empty data line", b"data\n\n", [SseEvent("")]),
    ("empty data then more", b"data\ndata\n\n", [SseEvent("\n")]),
    ("bom", b"\xef\xbb\xbfdata: a\n\n", [SseEvent("a")]),
    ("only first bom stripped", b"\xef\xbb\xbf\xef\xbb\xbfdata: a\n\n", []),
    ("event without data", b"event: ping\n\ndata: a\n\n", [SseEvent("a")]),
    ("id without data", b"id: 7\n\n", []),
    ("event and id", b"event: chunk\nid: 3\ndata: a\n\n", [SseEvent("a", "chunk", "3")]),
    (
        "id persists",
        b"id: 1\ndata: a\n\ndata: b\n\n",
        [SseEvent("a", None, "1"), SseEvent("b", None, "1")],
    ),
    ("event type resets", b"event: x\ndata: a\n\ndata: b\n\n", [SseEvent("a", "x"), SseEvent("b")]),
    ("id with NUL ignored", b"id: a\x00b\ndata: a\n\n", [SseEvent("a")]),
    ("unknown field and retry", b"retry: 10\nfoo: bar\ndata: a\n\n", [SseEvent("a")]),
    ("done ends the stream", b"data: a\n\ndata: [DONE]\n\ndata: b\n\n", [SseEvent("a")]),
    ("done with crlf", b"data: [DONE]\r\n\r\n", []),
    ("unterminated event dropped", b"data: a\n\ndata: b", [SseEvent("a")]),
    ("unterminated event with one newline dropped", b"data: a\n\ndata: b\n", [SseEvent("a")]),
    ("utf-8", "data: café ☕ 🎨\n\n".encode(), [SseEvent("café ☕ 🎨")]),
    ("invalid utf-8 replaced", b"data: a\xffb\n\n", [SseEvent("a\ufffdb")]),
    ("colon in value", b'data: {"a": 1}\n\n', [SseEvent('{"a": 1}')]),
    ("blank lines only", b"\n\n\r\n\r\r", []),
    ("field name is case-sensitive", b"Data: a\n\n", []),
]


@pytest.mark.parametrize(("name", "raw", "expected"), CASES, ids=[case[0] for case in CASES])
def test_every_rule_at_every_split(name: str, raw: bytes, expected: list[SseEvent]) -> None:
    for chunks in splits(raw):
        assert list(parse_sse(chunks)) == expected, (name, chunks)


def test_long_line_in_many_chunks() -> None:
    payload = "x" * 3_000_000
    raw = f"data: {payload}\r\n\r\n".encode()
    chunks = [raw[index : index + 4096] for index in range(0, len(raw), 4096)]
    assert list(parse_sse(chunks)) == [SseEvent(payload)]


def test_stops_pulling_after_done() -> None:
    pulled: list[bytes] = []

    def source() -> Iterator[bytes]:
        for chunk in (b"data: a\n\n", b"data: [DONE]\n\n", b"data: never\n\n"):
            pulled.append(chunk)
            yield chunk

    assert list(parse_sse(source())) == [SseEvent("a")]
    assert len(pulled) == 2


def test_empty_chunks_are_harmless() -> None:
    assert list(parse_sse([b"", b"data: a\r", b"", b"\n", b"\n", b""])) == [SseEvent("a")]


# ---- vectors


def reference_parse(raw: bytes) -> list[SseEvent]:
    """WHATWG "Interpreting an event stream", written from the spec, for whole inputs."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = re.split(r"\r\n|\r|\n", text)
    lines.pop()  # whatever follows the last line end is not a line: discarded at EOF
    events: list[SseEvent] = []
    data_buffer, event_type, last_id = "", "", None
    for line in lines:
        if line == "":
            if data_buffer == "":
                event_type = ""
                continue
            data = data_buffer.removesuffix("\n")
            if data == "[DONE]":
                return events
            events.append(SseEvent(data, event_type or None, last_id))
            data_buffer, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            name, value = line.split(":", 1)
            value = value.removeprefix(" ")
        else:
            name, value = line, ""
        if name == "data":
            data_buffer += value + "\n"
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            last_id = value
    return events


def cuttings(raw: bytes, seed: int) -> Iterator[list[bytes]]:
    """Whole, byte by byte, and a few random cuttings (empty chunks included)."""
    yield [raw]
    yield [raw[index : index + 1] for index in range(len(raw))]
    rng = random.Random(seed)
    for _ in range(4):
        chunks, position = [], 0
        while position < len(raw):
            size = rng.choice([0, 1, 2, 3, 5, 17, 64])
            chunks.append(raw[position : position + size])
            position += size
        yield chunks


VECTORS: list[tuple[str, bytes, list[SseEvent]]] = [
    ("field without colon is data with empty value", b"data\n\n", [SseEvent("")]),
    ("data colon without space", b"data:x\n\n", [SseEvent("x")]),
    ("exactly one leading space stripped", b"data:   x \n\n", [SseEvent("  x ")]),
    ("tab is not stripped", b"data:\tx\n\n", [SseEvent("\tx")]),
    ("retry ignored", b"retry: 3000\ndata: a\n\n", [SseEvent("a")]),
    ("retry alone dispatches nothing", b"retry: 3000\n\n", []),
    ("unknown fields ignored", b"foo: 1\nbar\ndata: a\nbaz:\n\n", [SseEvent("a")]),
    (
        "id with NULL ignored, earlier id kept",
        b"id: 1\nid: 2\x003\ndata: a\n\n",
        [SseEvent("a", None, "1")],
    ),
    (
        "empty id resets to empty",
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        [SseEvent("a", None, "1"), SseEvent("b", None, "")],
    ),
    ("empty event type is the default type", b"event:\ndata: a\n\n", [SseEvent("a")]),
    ("event type without colon", b"event\ndata: a\n\n", [SseEvent("a")]),
    ("event type with spaces kept", b"event:  x y\ndata: a\n\n", [SseEvent("a", " x y")]),
    ("event type set by last field", b"event: a\nevent: b\ndata: d\n\n", [SseEvent("d", "b")]),
    ("event type cleared by a dataless event", b"event: a\n\ndata: d\n\n", [SseEvent("d")]),
    ("three data lines", b"data: a\ndata:\ndata: c\n\n", [SseEvent("a\n\nc")]),
    ("only one trailing newline removed", b"data: a\ndata\n\n", [SseEvent("a\n")]),
    ("data of only a newline", b"data\ndata\n\n", [SseEvent("\n")]),
    ("colon in the value kept", b"data: a: b:c\n\n", [SseEvent("a: b:c")]),
    ("leading colon only is a comment", b":\n:data: x\ndata: a\n\n", [SseEvent("a")]),
    ("space before the field name", b" data: a\n\n", []),
    (
        "BOM only at stream start",
        b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n",
        [SseEvent("a")],
    ),
    ("BOM inside a value kept", "data: \ufeffa\n\n".encode(), [SseEvent("\ufeffa")]),
    (
        "mixed CR LF CRLF",
        b"data: a\rdata: b\ndata: c\r\n\r\n\rdata: d\n\r",
        [SseEvent("a\nb\nc"), SseEvent("d")],
    ),
    ("CR CR is two line ends", b"data: a\r\rdata: b\r\n\r\n", [SseEvent("a"), SseEvent("b")]),
    ("LF CR is two line ends", b"data: a\n\rdata: b\n\n", [SseEvent("a"), SseEvent("b")]),
    ("final event without blank line discarded", b"data: a\n\ndata: b\n", [SseEvent("a")]),
    ("final line without line end discarded", b"data: a\n\ndata: b", [SseEvent("a")]),
    ("final lone CR ends the line but not the event", b"data: a\r", []),
    ("final CR CR dispatches", b"data: a\r\r", [SseEvent("a")]),
    ("DONE ends the stream", b"data: a\n\ndata: [DONE]\n\ndata: b\n\n", [SseEvent("a")]),
    ("DONE without space", b"data:[DONE]\n\ndata: b\n\n", []),
    ("DONE with other fields", b"event: end\nid: 9\ndata: [DONE]\n\ndata: b\n\n", []),
    (
        "DONE needs exact data",
        b"data: [DONE] \n\ndata: [DONE]\ndata: x\n\n",
        [SseEvent("[DONE] "), SseEvent("[DONE]\nx")],
    ),
    ("multibyte UTF-8", "data: é☕🎨\n\n".encode(), [SseEvent("é☕🎨")]),
    ("invalid UTF-8 replaced", b"data: \xc3(\xff\n\n", [SseEvent("\ufffd(\ufffd")]),
    ("truncated UTF-8 before LF replaced", b"data: \xf0\x9f\x8e\n\n", [SseEvent("\ufffd")]),
    ("field names are case-sensitive", b"DATA: a\nEvent: x\n\n", []),
    ("NUL in data kept", b"data: a\x00b\n\n", [SseEvent("a\x00b")]),
]


@pytest.mark.parametrize(("raw", "expected"), [v[1:] for v in VECTORS], ids=[v[0] for v in VECTORS])
def test_vector_under_every_cutting(raw: bytes, expected: list[SseEvent]) -> None:
    assert reference_parse(raw) == expected  # the reference itself reads the spec this way
    for cut in range(len(raw) + 1):
        assert list(parse_sse([raw[:cut], raw[cut:]])) == expected, cut
    for chunks in cuttings(raw, seed=len(raw)):
        assert list(parse_sse(chunks)) == expected, chunks


def test_cr_at_chunk_end_then_lf_is_one_line_end() -> None:
    # "data: a\r" | "\n" | "\r\n": with CR+LF merged there is exactly one blank line -> one event.
    chunks = [b"data: a\r", b"\n", b"data: b\r", b"\ndata: c\r", b"\n\r", b"\n"]
    assert list(parse_sse(chunks)) == [SseEvent("a\nb\nc")]
    # The LF completing the CR arrives after an empty chunk and a split UTF-8 sequence.
    chunks = [b"data: a\r", b"", b"\ndata: \xe2", b"\x98", b"\x95\r", b"\n\r", b"", b"\n"]
    assert list(parse_sse(chunks)) == [SseEvent("a\n\u2615")]


def random_stream(rng: random.Random) -> bytes:
    """A stream built from the grammar's pieces, including odd ones."""
    ends = [b"\n", b"\r", b"\r\n"]
    fields = [
        b"data: x",
        b"data:y",
        b"data",
        b"data:  two",
        b"event: e",
        b"event:",
        b"id: 7",
        b"id: a\x00",
        b"id",
        b"retry: 5",
        b": comment",
        b"unknown: z",
        "data: ü🎨".encode(),
        b"data: \xff",
        b"data: [DONE]",
    ]
    out = bytearray(b"\xef\xbb\xbf" if rng.random() < 0.3 else b"")
    for _ in range(rng.randint(0, 12)):
        if rng.random() < 0.3:
            out += rng.choice(ends)  # blank line: dispatch
        else:
            out += rng.choice(fields) + rng.choice(ends)
    if rng.random() < 0.5:
        out += rng.choice(fields)  # unterminated tail
    return bytes(out)


@pytest.mark.parametrize("seed", range(60))
def test_random_streams_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(10):
        raw = random_stream(rng)
        expected = reference_parse(raw)
        for chunks in cuttings(raw, seed):
            assert list(parse_sse(chunks)) == expected, raw


def gemini_stream() -> tuple[bytes, list[str]]:
    """A realistic ``alt=sse`` body: text, a thought, a 3-fragment image, usage; CRLF framing."""
    data = base64.b64encode(b"\x89PNG\r\n\x1a\n" + os.urandom(600)).decode()
    bodies = [
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": "Dé🎨", "thought": True}]},
                    "index": 0,
                }
            ]
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": data[:400]}}],
                    },
                    "index": 0,
                }
            ]
        },
        {
            "candidates": [
                {
                    "content": {
                        "role": "model",
                        "parts": [{"inlineData": {"mimeType": "image/png", "data": data[400:]}}],
                    },
                    "index": 0,
                }
            ]
        },
        {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": ""}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": 5, "totalTokenCount": 9},
        },
    ]
    texts = [json.dumps(body, ensure_ascii=False) for body in bodies]
    raw = "".join(f"data: {text}\r\n\r\n" for text in texts).encode()
    return raw, texts


def test_realistic_gemini_stream_split_at_every_byte() -> None:
    raw, texts = gemini_stream()
    expected = [SseEvent(text) for text in texts]
    assert list(parse_sse([raw[index : index + 1] for index in range(len(raw))])) == expected
    for cut in range(len(raw) + 1):
        assert list(parse_sse([raw[:cut], raw[cut:]])) == expected, cut


def test_a_ten_megabyte_line_arrives_whole_in_small_or_large_chunks() -> None:
    # Speed (linear, not quadratic, joining) is measured in benchmarks/, not asserted here.
    payload = "A" * (10 * 1024 * 1024)
    raw = f"data: {payload}\r\n\r\ndata: after\n\n".encode()
    for size in (1024, 65536):
        chunks = (raw[index : index + size] for index in range(0, len(raw), size))
        assert list(parse_sse(chunks)) == [SseEvent(payload), SseEvent("after")]


def test_consumer_sees_events_before_the_stream_ends() -> None:
    def body() -> Iterator[bytes]:
        yield b"data: first\n\n"
        raise AssertionError("the parser read ahead of what the consumer asked for")

    assert next(parse_sse(body())) == SseEvent("first")
