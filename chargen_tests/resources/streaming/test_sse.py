"""parse_sse against the WHATWG rules, each input split at every byte offset (and byte by byte)."""

from __future__ import annotations

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
