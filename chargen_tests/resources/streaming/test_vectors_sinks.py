"""Spec vectors for the sinks through upload_image_chunks: a moto server on loopback, local disk.

All-or-nothing: a failure at any point of a stream leaves no object, no open multipart upload
and no temporary file; parts sent to S3 are at least 5 MiB except the last.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from chargen_resources.streaming import (
    GeminiStreamError,
    ImageBlock,
    ImageContext,
    ImageDelta,
    ImageFailed,
    ImageStart,
    LineEnd,
    LineError,
    LineStart,
    LocalFileSink,
    PipelineEvent,
    S3MultipartSink,
    StreamDone,
    upload_image_chunks,
)
from chargen_resources.streaming.sinks import MIN_PART_SIZE

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024


class PartRecorder:
    """A boto3 client wrapper that records the size of each part actually sent."""

    def __init__(self, client: S3Client) -> None:
        self._client = client
        self.part_sizes: list[int] = []

    def upload_part(self, **arguments: Any) -> Any:
        self.part_sizes.append(len(arguments["Body"]))
        return self._client.upload_part(**arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def png_bytes(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(
        buffer, "PNG", compress_level=0
    )
    return buffer.getvalue()


def image_events(raw: bytes, slice_chars: int = 1 << 18) -> Iterator[PipelineEvent]:
    encoded = base64.b64encode(raw).decode()
    yield ImageStart("image/png")
    for index in range(0, len(encoded), slice_chars):
        yield ImageDelta(encoded[index : index + slice_chars])


def key_for(context: ImageContext) -> str:
    return f"renders/{context.line_index}/{context.image_index}.png"


def bucket_state(s3: S3Client, bucket: str) -> tuple[list[str], list[str]]:
    objects = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    uploads = [item["Key"] for item in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    return objects, uploads


def test_parts_are_at_least_5_mib_and_the_object_is_exact(
    s3_client: S3Client, s3_bucket: str
) -> None:
    raw = png_bytes((1450, 1450))  # about 6 MiB uncompressed PNG: two parts
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > MIN_PART_SIZE
    client = PartRecorder(s3_client)
    events = [LineStart(0), *image_events(raw), LineEnd(0, "k")]
    out = list(
        upload_image_chunks(events, S3MultipartSink(client, s3_bucket, MIN_PART_SIZE), key_for)
    )
    block = next(item for item in out if isinstance(item, ImageBlock))
    assert (block.width, block.height, block.format) == (1450, 1450, "png")
    assert block.content_length == len(raw) and block.bucket == s3_bucket
    assert block.url == f"s3://{s3_bucket}/renders/0/0.png"
    assert client.part_sizes == [MIN_PART_SIZE, len(raw) - MIN_PART_SIZE]
    stored = s3_client.get_object(Bucket=s3_bucket, Key=block.key)
    assert stored["Body"].read() == raw
    assert stored["ContentType"] == "image/png"
    assert bucket_state(s3_client, s3_bucket) == ([block.key], [])


def failing_after(events: Iterator[PipelineEvent], count: int) -> Iterator[PipelineEvent]:
    for index, item in enumerate(events):
        if index == count:
            raise GeminiStreamError(503, "UNAVAILABLE", "the stream broke")
        yield item


@pytest.mark.parametrize("fail_at", [1, 3, 30])
def test_upstream_failure_mid_image_aborts_the_multipart_upload(
    s3_client: S3Client, s3_bucket: str, fail_at: int
) -> None:
    raw = os.urandom(
        6 * MIB
    )  # 8 MiB of base64: with 256 KiB slices, 32 deltas; 28 of them make one part
    client = PartRecorder(s3_client)
    events = failing_after(iter([LineStart(0), *image_events(raw)]), fail_at)
    with pytest.raises(GeminiStreamError):
        list(
            upload_image_chunks(events, S3MultipartSink(client, s3_bucket, MIN_PART_SIZE), key_for)
        )
    assert client.part_sizes == ([MIN_PART_SIZE] if fail_at == 30 else [])
    assert bucket_state(s3_client, s3_bucket) == ([], [])


def test_failed_line_aborts_even_after_parts_were_sent(s3_client: S3Client, s3_bucket: str) -> None:
    raw = os.urandom(6 * MIB)
    truncated = LineEnd(0, "k", LineError(status="TRUNCATED", message="cut"))
    client = PartRecorder(s3_client)
    events = [LineStart(0), *image_events(raw), truncated]
    out = list(
        upload_image_chunks(events, S3MultipartSink(client, s3_bucket, MIN_PART_SIZE), key_for)
    )
    assert out == [LineStart(0), truncated]
    assert client.part_sizes == [MIN_PART_SIZE]
    assert bucket_state(s3_client, s3_bucket) == ([], [])


def test_invalid_base64_after_a_part_aborts_and_reading_goes_on(
    s3_client: S3Client, s3_bucket: str
) -> None:
    raw = os.urandom(6 * MIB)
    events = [
        LineStart(0),
        *image_events(raw),
        ImageDelta("!!!!"),
        LineEnd(0, "bad"),
        LineStart(1),
        *image_events(b"\x89PNG\r\n\x1a\nsmall"),
        LineEnd(1, "good"),
    ]
    sink = S3MultipartSink(s3_client, s3_bucket, MIN_PART_SIZE)
    out = list(upload_image_chunks(events, sink, key_for))
    assert isinstance(out[1], ImageFailed) and "base64" in out[1].reason
    assert [item.key for item in out if isinstance(item, ImageBlock)] == ["renders/1/0.png"]
    assert bucket_state(s3_client, s3_bucket) == (["renders/1/0.png"], [])


def test_empty_image_is_an_empty_object(s3_client: S3Client, s3_bucket: str) -> None:
    events: list[PipelineEvent] = [ImageStart("image/png"), StreamDone("STOP")]
    out = list(upload_image_chunks(events, S3MultipartSink(s3_client, s3_bucket), key_for))
    block = out[0]
    assert isinstance(block, ImageBlock) and block.content_length == 0
    assert (block.width, block.height) == (None, None)
    assert s3_client.get_object(Bucket=s3_bucket, Key=block.key)["Body"].read() == b""
    assert out[1] == StreamDone("STOP")


def test_consumer_closing_mid_stream_leaves_nothing(s3_client: S3Client, s3_bucket: str) -> None:
    first, second = png_bytes((8, 8)), os.urandom(6 * MIB)
    events = [
        LineStart(0),
        *image_events(first),
        LineEnd(0, "a"),
        LineStart(1),
        *image_events(second),
        LineEnd(1, "b"),
    ]
    uploaded = upload_image_chunks(
        events, S3MultipartSink(s3_client, s3_bucket, MIN_PART_SIZE), key_for
    )
    assert isinstance(next(uploaded), LineStart)
    assert isinstance(next(uploaded), ImageBlock)
    assert isinstance(uploaded, Generator)  # a consumer may close it early
    uploaded.close()
    assert bucket_state(s3_client, s3_bucket) == (["renders/0/0.png"], [])


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_local_sink_leaves_no_temporary_file_on_any_failure(tmp_path: Path) -> None:
    raw = os.urandom(300_000)
    sink = LocalFileSink(tmp_path)
    with pytest.raises(GeminiStreamError):
        list(upload_image_chunks(failing_after(image_events(raw, 1000), 50), sink, key_for))
    truncated = LineEnd(0, "k", LineError(status="TRUNCATED", message="cut"))
    list(upload_image_chunks([LineStart(0), *image_events(raw, 1000), truncated], sink, key_for))
    list(
        upload_image_chunks(
            [LineStart(0), *image_events(raw), ImageDelta("%"), LineEnd(0, "k")], sink, key_for
        )
    )
    assert files_under(tmp_path) == []
    out = list(upload_image_chunks([*image_events(raw, 999)], sink, key_for))
    assert files_under(tmp_path) == ["renders/None/0.png"]
    assert (tmp_path / "renders/None/0.png").read_bytes() == raw
    assert (
        isinstance(out[0], ImageBlock)
        and out[0].url == (tmp_path / "renders/None/0.png").resolve().as_uri()
    )
