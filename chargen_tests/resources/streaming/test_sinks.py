"""S3MultipartSink against a real moto server on loopback, and LocalFileSink on disk."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
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
    StorageKeyError,
    StreamDone,
    upload_image_chunks,
)
from chargen_resources.streaming.sinks import MIN_PART_SIZE

BUCKET = "chargen-images"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])


def open_uploads(s3: Any) -> list[Any]:
    return list(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


def write_in_pieces(writer: Any, data: bytes, piece: int = 1_000_003) -> None:
    for index in range(0, len(data), piece):
        writer.write(data[index : index + piece])


def test_large_image_goes_up_in_parts(s3: Any) -> None:
    data = os.urandom(2 * MIN_PART_SIZE + 12345)
    writer = S3MultipartSink(s3, BUCKET, part_size=MIN_PART_SIZE).open("images/a.png", "image/png")
    write_in_pieces(writer, data)
    stored = writer.commit()
    assert (stored.url, stored.key, stored.bucket, stored.content_length) == (
        f"s3://{BUCKET}/images/a.png",
        "images/a.png",
        BUCKET,
        len(data),
    )
    assert s3.head_object(Bucket=BUCKET, Key="images/a.png", PartNumber=1)["PartsCount"] == 3
    assert s3.head_object(Bucket=BUCKET, Key="images/a.png")["ContentType"] == "image/png"
    assert s3.get_object(Bucket=BUCKET, Key="images/a.png")["Body"].read() == data
    assert open_uploads(s3) == []


@pytest.mark.parametrize("size", [0, 1, 1000])
def test_empty_and_tiny_images(s3: Any, size: int) -> None:
    data = os.urandom(size)
    writer = S3MultipartSink(s3, BUCKET).open(f"tiny-{size}.png", "image/png")
    writer.write(data)
    assert writer.commit().content_length == size
    assert s3.get_object(Bucket=BUCKET, Key=f"tiny-{size}.png")["Body"].read() == data


class FailingPartClient:
    """The real moto client, except that the second upload_part fails like a network error."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.parts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def upload_part(self, **arguments: Any) -> Any:
        self.parts += 1
        if self.parts == 2:
            raise ConnectionError("connection reset while sending part 2")
        return self._client.upload_part(**arguments)


def test_failed_part_aborts_the_multipart_upload(s3: Any) -> None:
    client = FailingPartClient(s3)
    writer = S3MultipartSink(client, BUCKET, part_size=MIN_PART_SIZE).open(
        "broken.png", "image/png"
    )
    with pytest.raises(ConnectionError):
        write_in_pieces(writer, os.urandom(3 * MIN_PART_SIZE))
    assert client.parts == 2
    assert open_uploads(s3) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_explicit_abort_after_parts_leaves_nothing(s3: Any) -> None:
    writer = S3MultipartSink(s3, BUCKET, part_size=MIN_PART_SIZE).open("gone.png", "image/png")
    write_in_pieces(writer, os.urandom(MIN_PART_SIZE + 10))
    assert len(open_uploads(s3)) == 1
    writer.abort()
    writer.abort()  # idempotent
    assert open_uploads(s3) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_failed_complete_aborts(s3: Any) -> None:
    writer = S3MultipartSink(s3, "no-such-bucket", part_size=MIN_PART_SIZE).open(
        "x.png", "image/png"
    )
    with pytest.raises(Exception, match="NoSuchBucket"):
        write_in_pieces(writer, os.urandom(MIN_PART_SIZE))
    assert open_uploads(s3) == []


def test_part_size_below_s3_minimum_is_refused(s3: Any) -> None:
    with pytest.raises(ValueError, match="at least"):
        S3MultipartSink(s3, BUCKET, part_size=1024)


def test_local_file_commit_and_abort(tmp_path: Path) -> None:
    sink = LocalFileSink(tmp_path)
    writer = sink.open("a/b.png", "image/png")
    writer.write(b"abc")
    writer.write(b"def")
    assert not (tmp_path / "a" / "b.png").exists()
    stored = writer.commit()
    assert (tmp_path / "a" / "b.png").read_bytes() == b"abcdef"
    assert stored.content_length == 6 and stored.bucket is None
    assert stored.url == (tmp_path / "a" / "b.png").resolve().as_uri()
    aborted = sink.open("a/c.png", "image/png")
    aborted.write(b"partial")
    aborted.abort()
    assert sorted(path.name for path in (tmp_path / "a").iterdir()) == ["b.png"]


@pytest.mark.parametrize(
    "key", ["../escape.png", "/etc/x.png", "a/../../b", "", "a\\b", "a//b", "./a"]
)
def test_local_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageKeyError):
        LocalFileSink(tmp_path / "root").open(key, "image/png")


# ---- vectors

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
