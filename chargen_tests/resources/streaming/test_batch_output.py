"""read_batch_output: key order, escapes, CRLF, truncated and malformed lines, bounded memory."""

from __future__ import annotations

import base64
import json
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chargen_resources.streaming import (
    ImageBlock,
    ImageDelta,
    ImageMarkedThought,
    ImageStart,
    LineEnd,
    LineError,
    LineStart,
    StoredObject,
    TextDelta,
    TokenUsage,
    read_batch_output,
    upload_image_chunks,
)

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def image_bytes(size: int) -> bytes:
    return PNG_HEAD + os.urandom(size)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def response_line(key: str, parts: list[dict[str, Any]], key_first: bool = True) -> str:
    response = {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}],
        "usageMetadata": {
            "promptTokenCount": 7,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1297,
        },
        "modelVersion": "gemini-3-pro-image-preview",
    }
    record = {"key": key, "response": response} if key_first else {"response": response, "key": key}
    return json.dumps(record)


def summarise(events: list[Any]) -> list[Any]:
    """Events with each image's deltas joined into one ("image", mime, thought, data) tuple."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, ImageStart):
            out.append(["image", event.mime_type, event.thought, ""])
        elif isinstance(event, ImageDelta):
            out[-1][3] += event.data
        else:
            out.append(event)
    return [tuple(item) if isinstance(item, list) else item for item in out]


def read(raw: bytes, chunk: int = 1 << 20, **options: Any) -> list[Any]:
    pieces = [raw[index : index + chunk] for index in range(0, len(raw), chunk)]
    return list(read_batch_output(pieces, **options))


USAGE = TokenUsage(prompt_token_count=7, candidates_token_count=1290, total_token_count=1297)


@pytest.mark.parametrize("key_first", [True, False])
def test_image_line_in_either_key_order(key_first: bool) -> None:
    data = image_bytes(5000)
    line = response_line(
        "char-1",
        [{"text": "Here"}, {"inlineData": {"mimeType": "image/png", "data": b64(data)}}],
        key_first,
    )
    assert summarise(read(line.encode() + b"\n", chunk=333)) == [
        LineStart(0),
        TextDelta("Here"),
        ("image", "image/png", False, b64(data)),
        LineEnd(0, "char-1", None, "STOP", USAGE),
    ]


def test_slices_are_bounded() -> None:
    data = image_bytes(300_000)
    line = response_line("k", [{"inlineData": {"mimeType": "image/png", "data": b64(data)}}])
    events = read(line.encode(), chunk=70_000, slice_chars=4096)
    deltas = [event.data for event in events if isinstance(event, ImageDelta)]
    assert max(len(delta) for delta in deltas) <= 4096
    assert "".join(deltas) == b64(data)


def test_mime_type_after_data_is_sniffed_and_late_thought_is_marked() -> None:
    data = b64(image_bytes(100))
    parts = [
        {"inlineData": {"data": data, "mimeType": "image/png"}, "thought": True},
        {"thought": True, "inlineData": {"mimeType": "image/jpeg", "data": "/9j/4AAQ"}},
        {"text": "thinking", "thought": True},
    ]
    assert summarise(read(response_line("k", parts).encode())) == [
        LineStart(0),
        ("image", "image/png", False, data),
        ImageMarkedThought(),
        ("image", "image/jpeg", True, "/9j/4AAQ"),
        TextDelta("thinking", thought=True),
        LineEnd(0, "k", None, "STOP", USAGE),
    ]


def test_json_escapes_in_data_text_and_key() -> None:
    data = b64(b"\xfb\xff" * 600)  # full of '/' and '+'
    assert "/" in data
    escaped_data = data.replace("/", "\\/")
    raw = (
        '{"key": "caf\\u00e9 \\"q\\" \\ud83c\\udfa8", "response": {"candidates": [{"content": '
        '{"parts": [{"text": "line\\nbreak \\u2028 \\/ \\\\"}, {"inlineData": '
        f'{{"mimeType": "image\\/png", "data": "{escaped_data}"}}}}]}}}}]}}}}\n'
    )
    json.loads(raw)  # the fixture itself is valid JSON
    for chunk in (1, 2, 5, 4096):
        assert summarise(read(raw.encode(), chunk=chunk, slice_chars=64)) == [
            LineStart(0),
            TextDelta("line\nbreak \u2028 / \\"),
            ("image", "image/png", False, data),
            LineEnd(0, 'café "q" 🎨', None),
        ]


def test_crlf_blank_lines_bom_and_error_lines() -> None:
    raw = (
        "\ufeff"
        + response_line("a", [{"text": "x"}])
        + "\r\n\r\n   \r\n"
        + json.dumps(
            {"key": "b", "error": {"code": 3, "message": "bad", "status": "INVALID_ARGUMENT"}}
        )
        + "\r\n"
        + json.dumps({"request": {}, "status": "Quota exceeded", "response": None})
        + "\r\n"
        + json.dumps({"key": "d"})
        + "\r\n"
    ).encode()
    events = read(raw, chunk=7)
    ends = [event for event in events if isinstance(event, LineEnd)]
    assert [end.index for end in ends] == [0, 1, 2, 3]
    assert ends[0] == LineEnd(0, "a", None, "STOP", USAGE)
    assert ends[1].error == LineError(code=3, message="bad", status="INVALID_ARGUMENT")
    assert ends[2].error == LineError(message="Quota exceeded")
    assert ends[3].error is not None and ends[3].error.status == "MISSING_RESPONSE"


@pytest.mark.parametrize(
    ("bad_line", "reason"),
    [
        ("not json at all", "not a JSON object"),
        ('{"key": "m", "response": {"candidates": [}', "expected"),
        (
            '{"key": "m", "response": {"candidates": [{"content": {"parts": [{"inlineData": '
            '{"mimeType": "image/png", "data": "iVBORw0KGgo',
            "ends inside a string",
        ),
        ('{"key": "m"} trailing', "after the JSON object"),
        ('{"key": "m", "response": {"x": tru}}', "expected true"),
        ('["an", "array"]', "not a JSON object"),
        ('{"key": "bad escape \\x"}', "invalid escape"),
    ],
)
def test_malformed_line_is_reported_and_reading_continues(bad_line: str, reason: str) -> None:
    good = response_line("after", [{"inlineData": {"mimeType": "image/png", "data": "QUJD"}}])
    raw = f"{bad_line}\n{good}\n".encode()
    for chunk in (3, 1 << 20):
        events = read(raw, chunk=chunk)
        ends = [event for event in events if isinstance(event, LineEnd)]
        assert len(ends) == 2
        assert ends[0].error is not None and ends[0].error.status == "MALFORMED"
        assert reason in ends[0].error.message and "line 1" in ends[0].error.message
        assert ends[1] == LineEnd(1, "after", None, "STOP", USAGE)
        assert ("image", "image/png", False, "QUJD") in summarise(events)


def test_truncated_last_line_is_reported_with_the_key_seen() -> None:
    data = b64(image_bytes(20_000))
    parts = [{"inlineData": {"mimeType": "image/png", "data": data}}]
    first = response_line("k0", [{"text": "ok"}]) + "\n"
    for key_first in (True, False):
        whole = response_line("k9", parts, key_first)
        raw = (first + whole).encode()
        middle_of_image = raw[: len(first) + len(whole) // 2]
        events = read(middle_of_image, chunk=1000)
        assert events[-1].index == 1
        assert events[-1].error.status == "TRUNCATED"
        assert events[-1].key == ("k9" if key_first else None)
        assert "line 2" in events[-1].error.message
        assert read(raw[:-3])[-1].error.status == "TRUNCATED"


def test_every_split_offset_gives_the_same_events() -> None:
    data = b64(image_bytes(150))
    raw = (
        response_line(
            "a/b", [{"text": "t\\u00e9"}, {"inlineData": {"data": data.replace("/", "\\/")}}], False
        )
        + "\r\n\n"
        + '{"key": "e", "error": {"code": 13, "message": "x", "status": "INTERNAL"}}\r\n'
        + '{"key": "t", "response": {"candidates": [{"content": {"parts": [{"text": "cut'
    ).encode()
    expected = summarise(list(read_batch_output([raw])))
    assert expected[-1].error.status == "TRUNCATED"
    for offset in range(len(raw) + 1):
        assert (
            summarise(list(read_batch_output([raw[:offset], raw[offset:]], slice_chars=16)))
            == expected
        ), offset


def test_chunks_are_pulled_lazily() -> None:
    pulled = 0

    def source() -> Iterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield (response_line("k", [{"text": "x"}]) + "\n").encode()

    events = read_batch_output(source())
    assert next(events) == LineStart(0)
    assert pulled == 1


class CountingSink:
    def __init__(self) -> None:
        self.total = 0

    def open(self, key: str, content_type: str) -> CountingWriter:
        return CountingWriter(self, key)


class CountingWriter:
    def __init__(self, sink: CountingSink, key: str) -> None:
        self.sink, self.key, self.length = sink, key, 0

    def write(self, data: bytes) -> None:
        self.length += len(data)

    def commit(self) -> StoredObject:
        self.sink.total += self.length
        return StoredObject("null:", self.key, None, self.length)

    def abort(self) -> None:
        pass


def test_memory_stays_bounded_on_a_200_mb_output(tmp_path: Path) -> None:
    """Five 40 MB lines: the peak traced memory must stay far below one line."""
    path = tmp_path / "output.jsonl"
    image = image_bytes(30 * 1024 * 1024 - len(PNG_HEAD))
    encoded = base64.b64encode(image)
    line_count = 5
    with path.open("wb") as handle:  # written piecewise: the test itself never holds a line twice
        for index in range(line_count):
            handle.write(
                b'{"response": {"candidates": [{"content": {"parts": [{"inlineData": '
                b'{"mimeType": "image/png", "data": "'
            )
            handle.write(encoded)
            handle.write(b'"}}]}, "finishReason": "STOP"}]}, "key": "k%d"}\n' % index)
    assert path.stat().st_size >= 200_000_000
    line_bytes = len(encoded)
    del image, encoded

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                yield chunk

    sink = CountingSink()
    tracemalloc.start()
    try:
        blocks = [
            event
            for event in upload_image_chunks(
                read_batch_output(chunks()), sink, lambda c: f"{c.line_index}"
            )
            if isinstance(event, ImageBlock | LineEnd)
        ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.total == line_count * 30 * 1024 * 1024
    assert [block.key for block in blocks if isinstance(block, LineEnd)] == [
        f"k{i}" for i in range(5)
    ]
    assert peak < 8 * 1024 * 1024, (
        f"peak {peak / 1e6:.1f} MB for lines of {line_bytes / 1e6:.0f} MB"
    )
