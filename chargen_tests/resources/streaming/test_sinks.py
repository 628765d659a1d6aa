"""S3MultipartSink against a real moto server on loopback, and LocalFileSink on disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from chargen_resources.streaming import LocalFileSink, S3MultipartSink, StorageKeyError
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
