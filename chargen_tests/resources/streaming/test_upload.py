"""upload_image_chunks with a recording sink: one ImageBlock per image, aborts, passthrough."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from chargen_resources.streaming import (
    GeminiStreamError,
    ImageBlock,
    ImageContext,
    ImageDelta,
    ImageFailed,
    ImageMarkedThought,
    ImageStart,
    LineEnd,
    LineError,
    LineStart,
    StoredObject,
    StreamDone,
    TextDelta,
    ThoughtImageSkipped,
    upload_image_chunks,
)


class RecordingSink:
    def __init__(self) -> None:
        self.writers: list[RecordingWriter] = []

    def open(self, key: str, content_type: str) -> RecordingWriter:
        writer = RecordingWriter(key, content_type)
        self.writers.append(writer)
        return writer

    def committed(self) -> dict[str, bytes]:
        return {w.key: bytes(w.data) for w in self.writers if w.state == "committed"}


class RecordingWriter:
    def __init__(self, key: str, content_type: str) -> None:
        self.key, self.content_type = key, content_type
        self.data = bytearray()
        self.state = "open"
        self.writes = 0

    def write(self, data: bytes) -> None:
        assert self.state == "open"
        self.data += data
        self.writes += 1

    def commit(self) -> StoredObject:
        assert self.state == "open"
        self.state = "committed"
        return StoredObject(f"mem://{self.key}", self.key, "bucket", len(self.data))

    def abort(self) -> None:
        self.state = "aborted"


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def image_events(data: bytes, thought: bool = False, slice_chars: int = 1000) -> list[Any]:
    text = base64.b64encode(data).decode()
    deltas = [
        ImageDelta(text[i : i + slice_chars], thought) for i in range(0, len(text), slice_chars)
    ]
    return [ImageStart("image/png", thought), *deltas]


def key_for(context: ImageContext) -> str:
    return (
        f"staging/{context.line_index}-{context.image_index}-{context.mime_type.replace('/', '_')}"
    )


def test_stream_image_becomes_one_block_and_text_passes_in_order() -> None:
    data = png((120, 80))
    events = [
        TextDelta("a"),
        *image_events(data)[:3],
        TextDelta("b"),
        *image_events(data)[3:],
        StreamDone("STOP"),
    ]
    sink = RecordingSink()
    out = list(upload_image_chunks(events, sink, key_for))
    block = ImageBlock(
        url="mem://staging/None-0-image_png",
        key="staging/None-0-image_png",
        bucket="bucket",
        width=120,
        height=80,
        format="png",
        content_type="image/png",
        content_length=len(data),
    )
    assert out == [TextDelta("a"), block, TextDelta("b"), StreamDone("STOP")]
    assert sink.committed() == {"staging/None-0-image_png": data}
    assert sink.writers[0].writes > 1  # streamed, not written whole


def test_thought_images_are_drained_not_stored() -> None:
    draft, final = png((10, 10)), png((30, 20))
    sink = RecordingSink()
    out = list(
        upload_image_chunks(
            [*image_events(draft, thought=True), *image_events(final)], sink, key_for
        )
    )
    assert isinstance(out[0], ThoughtImageSkipped)
    assert out[0].base64_chars == len(base64.b64encode(draft))
    assert isinstance(out[1], ImageBlock) and (out[1].width, out[1].height) == (30, 20)
    assert len(sink.writers) == 1


def test_late_thought_flag_aborts_the_provisional_upload() -> None:
    sink = RecordingSink()
    events = [
        LineStart(0),
        *image_events(png((8, 8))),
        ImageMarkedThought(),
        *image_events(png((9, 9))),
        LineEnd(0, "k"),
    ]
    out = list(upload_image_chunks(events, sink, key_for))
    assert [type(event) for event in out] == [LineStart, ThoughtImageSkipped, ImageBlock, LineEnd]
    assert [writer.state for writer in sink.writers] == ["aborted", "committed"]
    assert isinstance(out[2], ImageBlock) and out[2].key == "staging/0-1-image_png"


def test_batch_lines_name_staging_keys_by_line() -> None:
    sink = RecordingSink()
    events: list[Any] = []
    for index in range(3):
        events += [LineStart(index), *image_events(png((4, 4))), LineEnd(index, f"key-{index}")]
    out = list(upload_image_chunks(events, sink, key_for))
    assert [event.key for event in out if isinstance(event, ImageBlock)] == [
        "staging/0-0-image_png",
        "staging/1-0-image_png",
        "staging/2-0-image_png",
    ]
    assert [event.key for event in out if isinstance(event, LineEnd)] == ["key-0", "key-1", "key-2"]


def test_line_that_ends_in_error_aborts_its_image() -> None:
    sink = RecordingSink()
    truncated = LineEnd(0, None, LineError(status="TRUNCATED", message="cut"))
    out = list(
        upload_image_chunks(
            [LineStart(0), *image_events(png((8, 8)))[:2], truncated], sink, key_for
        )
    )
    assert out == [LineStart(0), truncated]
    assert [writer.state for writer in sink.writers] == ["aborted"]


def test_invalid_base64_fails_that_image_only() -> None:
    sink = RecordingSink()
    bad = [ImageStart("image/png"), ImageDelta("QUJD"), ImageDelta("Q*JD"), ImageDelta("QUJD")]
    events = [
        LineStart(0),
        *bad,
        LineEnd(0, "a"),
        LineStart(1),
        *image_events(png((5, 5))),
        LineEnd(1, "b"),
    ]
    out = list(upload_image_chunks(events, sink, key_for))
    assert [type(event) for event in out] == [
        LineStart,
        ImageFailed,
        LineEnd,
        LineStart,
        ImageBlock,
        LineEnd,
    ]
    assert isinstance(out[1], ImageFailed) and "not valid base64" in out[1].reason
    assert [writer.state for writer in sink.writers] == ["aborted", "committed"]


def test_upstream_error_aborts_and_propagates() -> None:
    def source() -> Iterator[Any]:
        yield from image_events(png((50, 50)))[:3]
        raise GeminiStreamError(500, "INTERNAL", "boom")

    sink = RecordingSink()
    with pytest.raises(GeminiStreamError):
        list(upload_image_chunks(source(), sink, key_for))
    assert [writer.state for writer in sink.writers] == ["aborted"]


def test_sink_error_propagates_after_abort() -> None:
    class BrokenWriter(RecordingWriter):
        def write(self, data: bytes) -> None:
            raise OSError("disk full")

    class BrokenSink(RecordingSink):
        def open(self, key: str, content_type: str) -> RecordingWriter:
            writer = BrokenWriter(key, content_type)
            self.writers.append(writer)
            return writer

    sink = BrokenSink()
    with pytest.raises(OSError, match="disk full"):
        list(upload_image_chunks(image_events(png((5, 5))), sink, key_for))
    assert sink.writers[0].state == "aborted"


def test_unknown_bytes_still_stored_without_dimensions() -> None:
    sink = RecordingSink()
    out = list(upload_image_chunks([ImageStart("image/png"), ImageDelta("QUJD")], sink, key_for))
    assert isinstance(out[0], ImageBlock)
    assert (out[0].width, out[0].height, out[0].format, out[0].content_length) == (
        None,
        None,
        "png",
        3,
    )


def test_empty_image_is_stored() -> None:
    sink = RecordingSink()
    out = list(upload_image_chunks([ImageStart("image/png"), StreamDone()], sink, key_for))
    assert isinstance(out[0], ImageBlock) and out[0].content_length == 0
    assert out[1] == StreamDone()
