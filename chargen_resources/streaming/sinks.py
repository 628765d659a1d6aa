"""Where uploaded images go: an S3 multipart upload, or a local file. Both all-or-nothing.

``ImageSink.open(key, content_type)`` returns an ``ImageWriter``; ``write`` may be called any
number of times, then exactly one of ``commit`` (the object appears) or ``abort`` (nothing
remains). Tests may use any object with this shape.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol

from chargen_resources.streaming.errors import StorageKeyError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredObject:
    url: str
    key: str
    bucket: str | None
    content_length: int


class ImageWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    def commit(self) -> StoredObject: ...

    def abort(self) -> None: ...


class ImageSink(Protocol):
    def open(self, key: str, content_type: str) -> ImageWriter: ...


class S3MultipartSink:
    """Streams into S3 with a multipart upload (parts of ``part_size``, at least 5 MiB).

    ``client`` is a boto3 S3 client, e.g. ``S3Resource(...).get_client()`` from dagster-aws.
    An image smaller than one part is sent with a single ``put_object`` at commit (S3 refuses a
    multipart upload without parts, and an empty image must work too).
    """

    def __init__(self, client: S3Client | Any, bucket: str, part_size: int = DEFAULT_PART_SIZE):
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3's minimum)")
        self.client = client
        self.bucket = bucket
        self.part_size = part_size

    def open(self, key: str, content_type: str) -> S3MultipartWriter:
        return S3MultipartWriter(self, key, content_type)


class S3MultipartWriter:
    def __init__(self, sink: S3MultipartSink, key: str, content_type: str) -> None:
        self._sink = sink
        self.key = key
        self.content_type = content_type
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._length = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        self._buffer += data
        self._length += len(data)
        while len(self._buffer) >= self._sink.part_size:
            self._send_part(bytes(self._buffer[: self._sink.part_size]))
            del self._buffer[: self._sink.part_size]

    def commit(self) -> StoredObject:
        client, bucket = self._sink.client, self._sink.bucket
        try:
            if self._upload_id is None:
                client.put_object(
                    Bucket=bucket,
                    Key=self.key,
                    Body=bytes(self._buffer),
                    ContentType=self.content_type,
                )
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                client.complete_multipart_upload(
                    Bucket=bucket,
                    Key=self.key,
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
                )
        except BaseException as error:
            self.abort_after(error)
            raise
        self._closed = True
        self._buffer = bytearray()
        return StoredObject(
            url=f"s3://{bucket}/{self.key}",
            key=self.key,
            bucket=bucket,
            content_length=self._length,
        )

    def abort(self) -> None:
        """Abort the multipart upload (if one was started); safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._buffer = bytearray()
        if self._upload_id is not None:
            self._sink.client.abort_multipart_upload(
                Bucket=self._sink.bucket, Key=self.key, UploadId=self._upload_id
            )

    def abort_after(self, error: BaseException) -> None:
        """Abort because of ``error``; if aborting fails too, say so on ``error``."""
        try:
            self.abort()
        except Exception as abort_error:
            error.add_note(
                f"aborting multipart upload {self._upload_id} of s3://{self._sink.bucket}/"
                f"{self.key} failed too ({abort_error!r}); remove it with abort-multipart-upload"
            )

    def _send_part(self, body: bytes) -> None:
        client, bucket = self._sink.client, self._sink.bucket
        try:
            if self._upload_id is None:
                created = client.create_multipart_upload(
                    Bucket=bucket, Key=self.key, ContentType=self.content_type
                )
                self._upload_id = created["UploadId"]
            number = len(self._parts) + 1
            answer = client.upload_part(
                Bucket=bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
            )
        except BaseException as error:
            self.abort_after(error)
            raise
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})


def safe_relative_key(key: str) -> PurePosixPath:
    """``key`` as a relative path that cannot leave its root (no '..', no absolute path)."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or "\\" in key or "\0" in key:
        raise StorageKeyError(f"storage key {key!r} must be a non-empty relative path")
    if any(part in ("..", ".", "") for part in key.split("/")):
        raise StorageKeyError(f"storage key {key!r} must not contain '.', '..' or empty parts")
    return path


class LocalFileSink:
    """Writes ``root/key`` through a temporary file renamed into place on commit."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def open(self, key: str, content_type: str) -> LocalFileWriter:
        target = self.root.joinpath(*safe_relative_key(key).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return LocalFileWriter(target, key)


class LocalFileWriter:
    def __init__(self, target: Path, key: str) -> None:
        self.target = target
        self.key = key
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".{uuid.uuid4().hex[:8]}.part", dir=target.parent
        )
        self._temporary = Path(temporary)
        self._file = os.fdopen(handle, "wb")
        self._length = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        try:
            self._file.write(data)
        except BaseException:
            self.abort()
            raise
        self._length += len(data)

    def commit(self) -> StoredObject:
        try:
            self._file.close()
            os.chmod(self._temporary, 0o644)  # mkstemp makes it owner-only
            os.replace(self._temporary, self.target)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return StoredObject(
            url=self.target.resolve().as_uri(),
            key=self.key,
            bucket=None,
            content_length=self._length,
        )

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._file.close()
        self._temporary.unlink(missing_ok=True)
