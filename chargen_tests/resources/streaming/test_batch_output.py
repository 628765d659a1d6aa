"""read_batch_output: key order, escapes, CRLF, truncated and malformed lines, bounded memory."""

from __future__ import annotations

import base64
import json
import os
import random
import tracemalloc
from collections.abc import Iterable, Iterator
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
    decode_base64,
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


# ---- vectors

PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
NASTY = 'br{ace}s [x] "q" \\ \\" \\\\ \\/ \u00e9 \U0001f3a8 \u2028 , : \r \t'


def line_summaries(chunks: Iterable[bytes], slice_chars: int = 16) -> list[dict[str, Any]]:
    """The reader's events folded into one dict per line (images decoded)."""
    lines: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    deltas: list[str] = []

    def close_image(failed: bool = False) -> None:
        if current is not None and current["images"] and deltas:
            # A failed line's image may be cut anywhere: it is not decodable, only discarded.
            current["images"][-1]["data"] = None if failed else b"".join(decode_base64(deltas))
        deltas.clear()

    for item in read_batch_output(chunks, slice_chars=slice_chars):
        if isinstance(item, LineStart):
            assert current is None, "LineStart inside a line"
            current = {"index": item.index, "text": "", "images": []}
        elif isinstance(item, LineEnd):
            assert current is not None and current["index"] == item.index
            error = item.error
            close_image(failed=error is not None)
            current.update(
                key=item.key,
                finish_reason=item.finish_reason,
                usage=item.usage,
                block_reason=item.block_reason,
                error=None if error is None else (error.code, error.status, error.message),
            )
            lines.append(current)
            current = None
        else:
            assert current is not None, f"{item} outside a line"
            if isinstance(item, ImageStart):
                close_image()
                current["images"].append(
                    {"mime": item.mime_type, "thought": item.thought, "data": b""}
                )
            elif isinstance(item, ImageDelta):
                assert len(item.data) <= slice_chars
                deltas.append(item.data)
            elif isinstance(item, ImageMarkedThought):
                current["images"][-1]["thought"] = True
            elif isinstance(item, TextDelta):
                current["text"] += item.text
    assert current is None, "a line was left open"
    return lines


def reference(record: dict[str, Any], index: int) -> dict[str, Any]:
    """What a line means, read with json.loads semantics."""
    response = record.get("response")
    summary: dict[str, Any] = {"index": index, "text": "", "images": [], "key": record.get("key")}
    summary.update(finish_reason=None, usage=None, block_reason=None, error=None)
    error = record.get("error")
    if error is not None:
        summary["error"] = (error.get("code"), error.get("status"), error.get("message"))
    if not isinstance(response, dict):
        if error is None:
            summary["error"] = (
                None,
                "MISSING_RESPONSE",
                "the line has neither 'response' nor 'error'",
            )
        return summary
    usage = response.get("usageMetadata")
    summary["usage"] = TokenUsage.model_validate(usage) if usage else None
    summary["block_reason"] = (response.get("promptFeedback") or {}).get("blockReason")
    candidates = response.get("candidates") or []
    if candidates:
        candidate = candidates[0]
        summary["finish_reason"] = candidate.get("finishReason")
        for part in (candidate.get("content") or {}).get("parts") or []:
            inline = part.get("inlineData", part.get("inline_data"))
            if inline is not None:
                data = inline["data"].replace("-", "+").replace("_", "/")
                summary["images"].append(
                    {
                        "mime": inline.get("mimeType", inline.get("mime_type")),
                        "thought": part.get("thought") is True,
                        "data": base64.b64decode(data + "=" * (-len(data.rstrip("=")) % 4)),
                    }
                )
            if part.get("text"):
                summary["text"] += part["text"]
    return summary


def image_record(rng: random.Random, key: str, *, size: int = 120) -> dict[str, Any]:
    raw = PNG_HEAD + rng.randbytes(size)
    parts = [
        {"text": f"caption {NASTY}"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(raw).decode()}},
        {"thoughtSignature": "El4KXAERTTIP" * 3},
    ]
    response = {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": "STOP",
                "index": 0,
                "avgLogprobs": -0.53e-2,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 1290,
            "totalTokenCount": 1302,
        },
        "modelVersion": "gemini-3-pro-image-preview",
    }
    return {"key": key, "response": response}


def dumps_shuffled(record: dict[str, Any], rng: random.Random, noise: bool = True) -> str:
    """JSON with members shuffled, unknown members inserted and random whitespace."""

    def encode(value: Any, depth: int) -> str:
        space = rng.choice(["", " ", "\t", "  \r "])
        if isinstance(value, dict):
            items = list(value.items())
            if noise and depth < 3:
                items.append((f"x{NASTY}", {"n": [1, -2.5e-3, True, None, {"s": '}]"{'}]}))
            rng.shuffle(items)
            body = f"{space},{space}".join(
                f"{json.dumps(k)}{space}:{space}{encode(v, depth + 1)}" for k, v in items
            )
            return "{" + space + body + space + "}"
        if isinstance(value, list):
            return "[" + f",{space}".join(encode(v, depth + 1) for v in value) + "]"
        if isinstance(value, str):
            text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
            return text.replace("/", "\\/") if rng.random() < 0.5 else text
        return json.dumps(value)

    return encode(record, 0)


@pytest.mark.parametrize("seed", range(25))
def test_shuffled_members_noise_and_escapes_match_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    records = [image_record(rng, f"k/{seed}/{n} {NASTY}") for n in range(3)]
    records.append({"error": {"code": 13, "message": f"internal {NASTY}"}, "key": "failed"})
    lines = [dumps_shuffled(record, rng) for record in records]
    raw = "\n".join(lines).encode()
    expected = [reference(json.loads(line), index) for index, line in enumerate(lines)]
    assert line_summaries([raw]) == expected
    chunk = rng.randint(1, 40)
    assert line_summaries(raw[i : i + chunk] for i in range(0, len(raw), chunk)) == expected


def small_file() -> tuple[bytes, list[dict[str, Any]]]:
    rng = random.Random(7)
    records = [
        image_record(rng, "first", size=40),
        {"key": "e", "error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}},
        image_record(rng, "last", size=40),
    ]
    raw = ("\r\n".join(json.dumps(record) for record in records) + "\r\n").encode()
    return raw, records


def test_one_byte_chunks_give_the_same_result() -> None:
    raw, records = small_file()
    expected = [reference(record, index) for index, record in enumerate(records)]
    assert line_summaries([raw]) == expected
    assert line_summaries(raw[i : i + 1] for i in range(len(raw))) == expected


def test_every_cut_point_reports_truncation_and_keeps_earlier_lines() -> None:
    raw, records = small_file()
    starts = [0]
    for index, byte in enumerate(raw):
        if byte == 0x0A:
            starts.append(index + 1)
    expected = [reference(record, index) for index, record in enumerate(records)]
    for cut in range(len(raw) + 1):
        prefix = raw[:cut]
        got = line_summaries([prefix[: cut // 2], prefix[cut // 2 :]])
        complete = sum(1 for start in starts[1:] if start <= cut)
        tail = prefix[starts[complete] :] if complete < len(starts) else b""
        try:
            tail_complete = bool(tail.strip()) and isinstance(json.loads(tail), dict)
        except json.JSONDecodeError:
            tail_complete = False
        intact = complete + (1 if tail_complete else 0)
        assert got[:intact] == expected[:intact], cut
        if tail.strip() and not tail_complete:
            assert len(got) == intact + 1, cut
            assert got[-1]["error"][1] == "TRUNCATED", (cut, got[-1])
            assert f"line {intact + 1}" in got[-1]["error"][2]
            assert got[-1]["index"] == intact
        else:
            assert len(got) == intact, cut


def test_numbers_cut_by_chunk_boundaries_are_read_whole() -> None:
    line = b'{"key":"n","x":-12.5e+3,"y":[0,-0,1E2,3.25],"response":{"candidates":[],"usageMetadata":{"totalTokenCount":1302}}}\n'
    expected = {
        "index": 0,
        "text": "",
        "images": [],
        "key": "n",
        "finish_reason": None,
        "usage": TokenUsage(total_token_count=1302),
        "block_reason": None,
        "error": None,
    }
    for cut in range(len(line) + 1):
        assert line_summaries([line[:cut], line[cut:]]) == [expected], cut


@pytest.mark.parametrize(
    "bad",
    [
        b"[]",
        b"42",
        b'"just a string"',
        b"null",
        b"{not json",
        b'{"key": "a",}',
        b'{"key": "a" "response": {}}',
        b'{"key": "a", "response": {}',  # the closing brace is missing: the line ends early
        b'{"key": "a", "response": {"candidates": [',
        b'{"key": "a", "x": 01}',
        b'{"key": "a", "x": 1.}',
        b'{"key": "a", "x": tru}',
        b'{"key": "a"} trailing',
        b'{"key": "a", "text": "raw \x00 control"}x',
        b'{"key": "bad \\q escape"}',
        b'{"key": "\xff\xfe"}',
    ],
)
def test_malformed_line_is_reported_and_the_next_lines_survive(bad: bytes) -> None:
    good = b'{"key": "after", "response": {"candidates": [{"finishReason": "STOP"}]}}'
    raw = b"\n".join([good.replace(b"after", b"before"), bad, good, b"", good]) + b"\n"
    for chunks in ([raw], [raw[i : i + 1] for i in range(len(raw))]):
        got = line_summaries(chunks)
        assert len(got) == 4, got
        assert got[1]["error"][1] == "MALFORMED", got[1]
        assert "line 2" in got[1]["error"][2]
        assert [line["key"] for line in (got[0], got[2], got[3])] == ["before", "after", "after"]
        assert all(line["error"] is None for line in (got[0], got[2], got[3]))


def test_line_numbers_in_messages_count_blank_lines() -> None:
    raw = b'\n\r\n{"key": "a", "response": {}}\n\n{oops\n'
    got = line_summaries([raw])
    assert got[1]["index"] == 1
    assert got[1]["error"][2].startswith("line 5 (record 2)")


def test_error_lines_with_and_without_status_and_null_error() -> None:
    raw = b"\n".join(
        [
            b'{"key":"a","error":{"code":3,"message":"Invalid \\"x\\"","status":"INVALID_ARGUMENT","details":[{"@type":"t"}]}}',
            b'{"error":{"message":"no status","code":500},"key":"b"}',
            b'{"key":"c","response":{"candidates":[]},"error":null}',
            b'{"key":"d","error":"plain words"}',
            b'{"key":"e"}',
        ]
    )
    got = line_summaries([raw])
    assert [line["error"] for line in got] == [
        (3, "INVALID_ARGUMENT", 'Invalid "x"'),
        (500, None, "no status"),
        None,
        (None, None, "plain words"),
        (None, "MISSING_RESPONSE", "the line has neither 'response' nor 'error'"),
    ]
    assert [line["key"] for line in got] == ["a", "b", "c", "d", "e"]


def test_response_without_candidates_and_odd_shapes() -> None:
    raw = b"\n".join(
        [
            b'{"key":"blocked","response":{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":4}}}',
            b'{"key":"safety","response":{"candidates":[{"finishReason":"IMAGE_SAFETY","index":0}]}}',
            b'{"key":"shapes","response":{"candidates":"none","x":1}}',
            b'{"key":"parts","response":{"candidates":[{"content":{"parts":[1,"s",null,{"inlineData":null},{"inlineData":{"data":null}}]}}]}}',
            b'{"key":"snake","response":{"prompt_feedback":{"block_reason":"OTHER"},"usage_metadata":{"prompt_token_count":2},"candidates":[{"finish_reason":"STOP"}]}}',
            b'{"key":"resp-null","response":null}',
        ]
    )
    got = line_summaries([raw])
    assert got[0]["block_reason"] == "SAFETY" and got[0]["usage"] == TokenUsage(
        prompt_token_count=4
    )
    assert got[0]["error"] is None and got[0]["images"] == []
    assert got[1]["finish_reason"] == "IMAGE_SAFETY" and got[1]["error"] is None
    assert got[2]["error"] is None and got[2]["images"] == []
    assert got[3]["error"] is None and got[3]["images"] == []
    assert (got[4]["block_reason"], got[4]["finish_reason"]) == ("OTHER", "STOP")
    assert got[4]["usage"] == TokenUsage(prompt_token_count=2)
    assert got[5]["error"][1] == "MISSING_RESPONSE"


def test_key_escapes_surrogates_and_position() -> None:
    key = 'a/b\\c "d" \u00e9 \U0001f3a8 \u2028'
    body = '"response":{"candidates":[{"content":{"parts":[{"text":"x"}]}}]}'
    escaped = json.dumps(key)  # \\ud83c\\udfa8 surrogate pair, \\" and \\\\
    assert "\\ud83c\\udfa8" in escaped
    slashes = escaped.replace("/", "\\/")
    for line in (
        "{" + f'"key":{escaped},{body}' + "}",
        "{" + f'{body},"key":{escaped}' + "}",
        "{" + f'"a":1,"key":{slashes},{body}' + "}",
        '{ "key" \t:\t' + escaped + " , " + body.replace(":", " : ") + " }",
    ):
        raw = line.encode()
        assert [
            got["key"] for got in line_summaries(raw[i : i + 3] for i in range(0, len(raw), 3))
        ] == [key]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda raw: base64.b64encode(raw).decode(), id="standard"),
        pytest.param(lambda raw: base64.urlsafe_b64encode(raw).decode(), id="url-safe"),
        pytest.param(lambda raw: base64.b64encode(raw).decode().rstrip("="), id="unpadded"),
        pytest.param(lambda raw: base64.encodebytes(raw).decode(), id="with-newlines"),
    ],
)
def test_base64_variants_and_json_escapes_inside_the_data_string(encode: Any) -> None:
    raw = PNG_HEAD + bytes(range(256)) * 2 + b"\xff\xfe"
    data = json.dumps(encode(raw))  # newlines become the two characters \n
    data = data.replace("/", "\\/").replace("A", "\\u0041")
    line = (
        '{"key":"k","response":{"candidates":[{"content":{"parts":[{"inlineData":'
        '{"mimeType":"image/png","data":' + data + "}}]}}]}}\r\n"
    ).encode()
    expected = [{"mime": "image/png", "thought": False, "data": raw}]
    assert line_summaries([line])[0]["images"] == expected
    for cut in range(0, len(line) + 1, 7):
        assert line_summaries([line[:cut], line[cut:]])[0]["images"] == expected, cut
    assert line_summaries(line[i : i + 1] for i in range(len(line)))[0]["images"] == expected


def test_bom_crlf_and_blank_lines() -> None:
    rng = random.Random(3)
    records = [image_record(rng, "a", size=10), image_record(rng, "b", size=10)]
    raw = (
        b"\xef\xbb\xbf"
        + b"\r\n\r\n".join(json.dumps(r).encode() for r in records)
        + b"\r\n\r\n  \t\r\n"
    )
    expected = [reference(record, index) for index, record in enumerate(records)]
    assert line_summaries([raw]) == expected
    assert line_summaries(raw[i : i + 1] for i in range(len(raw))) == expected


def test_thought_flag_before_or_after_the_image() -> None:
    draft, final = PNG_HEAD + b"draft", PNG_HEAD + b"final"
    b64 = {name: base64.b64encode(raw).decode() for name, raw in (("d", draft), ("f", final))}
    raw = (
        '{"key":"t","response":{"candidates":[{"content":{"parts":['
        f'{{"thought":true,"inlineData":{{"mimeType":"image/png","data":"{b64["d"]}"}}}},'
        f'{{"inlineData":{{"mimeType":"image/png","data":"{b64["d"]}"}},"thought":true}},'
        f'{{"inlineData":{{"data":"{b64["f"]}","mime_type":"image/png"}},"thought":false}}'
        "]}}]}}"
    ).encode()
    images = line_summaries([raw])[0]["images"]
    assert [(image["thought"], image["data"]) for image in images] == [
        (True, draft),
        (True, draft),
        (False, final),
    ]
    assert images[2]["mime"] == "image/png"  # sniffed: the mime type came after the data


def test_huge_unknown_members_and_strings_are_skipped_in_bounded_slices() -> None:
    filler = '\\\\\\"' * 200_000 + "x" * 1_000_000  # escaped backslashes and quotes, then text
    line = (
        '{"noise":["' + filler + '",{"deep":[[[[{"a":"}"}]]]]}],"key":"big",'
        '"response":{"candidates":[{"content":{"parts":[{"thoughtSignature":"'
        + filler
        + '"}]}}]}}\n'
    ).encode()
    got = line_summaries(line[i : i + 65536] for i in range(0, len(line), 65536))
    assert [(g["key"], g["error"]) for g in got] == [("big", None)]


def test_key_null_number_and_missing() -> None:
    raw = b'{"key":null,"response":{}}\n{"key":42,"response":{}}\n{"response":{}}\n{"key":"k","key":"last wins","response":{}}'
    assert [line["key"] for line in line_summaries([raw])] == [None, "42", None, "last wins"]
