"""Byte storage behind one small interface: a local folder or an S3 bucket.

Keys are relative '/'-separated paths (see `keys.validate_key`). Local writes are atomic (a
temporary file in the target folder, then `os.replace`), so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from botocore.exceptions import ClientError

from chargen_resources.storage.keys import validate_key, validate_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

    from chargen_resources.streaming.sinks import ImageSink

DEFAULT_CHUNK_SIZE: Final = 1024 * 1024
# Requests to a store at once when many keys are written, or read from S3 (a store's
# `parallel_reads`): each is a round trip of tens of milliseconds to S3 (an fsync locally), and
# boto3 clients are thread-safe. 10,000 characters one key at a time would spend minutes waiting.
IO_THREADS: Final = 8
DEFAULT_CONTENT_TYPE: Final = "application/octet-stream"
# Temporary files of in-flight local writes (ours, and the streaming LocalFileSink's
# ".<name>.<random>.part"); listings skip them.
_LOCAL_TEMP_PREFIX: Final = ".chargen-tmp-"
_SINK_TEMP_SUFFIX: Final = ".part"
_S3_MISSING_CODES: Final = frozenset({"404", "NoSuchKey", "NotFound"})
_S3_CONDITION_FAILED_CODES: Final = frozenset(
    {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}
)


class BlobNotFoundError(LookupError):
    """The key has no object in the store."""

    def __init__(self, uri: str) -> None:
        super().__init__(f"No object at {uri}.")
        self.uri = uri


@runtime_checkable
class BlobStore(Protocol):
    """What chargen needs from a place that keeps bytes under keys."""

    # Reads to keep in flight when many keys are read one after another.
    parallel_reads: int

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...

    def create_new(self, key: str, data: bytes, content_type: str) -> bool:
        """Write `key` only if it does not exist yet, atomically; False if it already did."""
        ...

    def get_bytes(self, key: str) -> bytes: ...

    def iter_bytes(
        self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Generator[bytes, None, None]:
        """The object in chunks; closing the generator early releases the file or connection."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def remove_empty_folder(self, folder: str) -> None:
        """Forget `folder` (a prefix ending in '/') once nothing is left in it: a local folder
        outlives its files, a prefix on S3 does not."""
        ...

    def list_keys(self, prefix: str = "") -> Iterator[str]: ...

    def list_versions(self, folder: str) -> dict[str, str]:
        """The objects directly in `folder` (a prefix ending in '/'; not those in folders below
        it): name within the folder -> a token that changes whenever the object is written."""
        ...

    def move(self, src: str, dst: str) -> None: ...

    def copy(self, src: str, dst: str) -> None:
        """`dst` holds what `src` holds (replacing what it held); no bytes pass through here."""
        ...

    def uri(self, key: str) -> str: ...

    def image_sink(self) -> ImageSink: ...


class LocalBlobStore:
    """Objects as files under `root` (made absolute); keys map to relative paths."""

    # A local read hardly waits: not at all from the page cache, and two keep a cold disk busy.
    # More readers only take turns at the GIL: over 10,000 characters' records, eight took
    # about 40% longer than two, with the files cached or not.
    parallel_reads = 2

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def path(self, key: str) -> Path:
        """The file that holds `key` (it may not exist)."""
        return self.root.joinpath(*validate_key(key).split("/"))

    def _staged(self, key: str, data: bytes) -> tuple[Path, Path]:
        """`data` in a temporary file beside `key`'s file, ready to be moved or linked there."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(prefix=_LOCAL_TEMP_PREFIX, dir=target.parent)
        try:
            # mkstemp makes owner-only files; results are meant to be read (served, copied).
            os.chmod(temp_name, 0o644)
            with os.fdopen(handle, "wb") as temp_file:
                temp_file.write(data)
                temp_file.flush()
                os.fsync(temp_file.fileno())
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        return Path(temp_name), target

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        temp, target = self._staged(key, data)
        try:
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def create_new(self, key: str, data: bytes, content_type: str = "") -> bool:
        # Written whole first, then hard-linked into place: `link` fails if the target exists,
        # so exactly one of any number of racing writers wins, and no reader sees half a file.
        temp, target = self._staged(key, data)
        try:
            os.link(temp, target)
            return True
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)

    def get_bytes(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFoundError(self.uri(key)) from None

    def iter_bytes(
        self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Generator[bytes, None, None]:
        path = self.path(key)
        try:
            stream = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobNotFoundError(self.uri(key)) from None
        return _read_chunks(stream, chunk_size)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def remove_empty_folder(self, folder: str) -> None:
        validate_prefix(folder)
        if not folder.strip("/"):
            raise ValueError("remove_empty_folder needs a folder inside the store, not its root")
        top = self.root.joinpath(*folder.strip("/").split("/"))
        if not top.is_dir():
            return
        for directory, _subdirs, _files in os.walk(top, topdown=False):
            with contextlib.suppress(OSError):  # not empty (written meanwhile): kept
                os.rmdir(directory)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Walk only the deepest folder the prefix names; the rest of the prefix filters names.
        folder = prefix.rpartition("/")[0]
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not start.is_dir():
            return iter(())
        keys = []
        for directory, _subdirs, files in os.walk(start):
            relative_dir = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if _is_in_flight(name):
                    continue
                key = name if relative_dir == "." else f"{relative_dir}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        # Sorted like S3 listings (by UTF-8 bytes) so both backends enumerate alike.
        return iter(sorted(keys, key=lambda key: key.encode("utf-8")))

    def list_versions(self, folder: str) -> dict[str, str]:
        start = self.root.joinpath(*_folder(folder).strip("/").split("/"))
        versions: dict[str, str] = {}
        try:
            entries = os.scandir(start)
        except (FileNotFoundError, NotADirectoryError):
            return versions
        with entries:
            for entry in entries:
                if _is_in_flight(entry.name) or not entry.is_file():
                    continue
                stat = entry.stat()  # of what a read would read, as `get_bytes` follows links
                # Every write is a new file moved into place: a new inode and time.
                versions[entry.name] = f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"
        return versions

    def move(self, src: str, dst: str) -> None:
        source, target = self.path(src), self.path(dst)
        if not source.is_file():
            raise BlobNotFoundError(self.uri(src))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def copy(self, src: str, dst: str) -> None:
        # A hard link, put in place by rename: files here are only ever replaced whole, never
        # written in place, so the two names cannot come to differ by a write to the other.
        source, target = self.path(src), self.path(dst)
        if not source.is_file():
            raise BlobNotFoundError(self.uri(src))
        target.parent.mkdir(parents=True, exist_ok=True)
        linked = target.with_name(f"{_LOCAL_TEMP_PREFIX}{secrets.token_hex(8)}")
        try:
            os.link(source, linked)
        except OSError:  # a file system without hard links: the bytes, then
            self.put_bytes(dst, source.read_bytes())
            return
        try:
            os.replace(linked, target)
        except BaseException:
            linked.unlink(missing_ok=True)
            raise

    def uri(self, key: str) -> str:
        return self.path(key).as_uri()

    def image_sink(self) -> ImageSink:
        """A streaming sink that writes images into this store's folder."""
        from chargen_resources.streaming.sinks import LocalFileSink

        return LocalFileSink(self.root)


def _folder(folder: str) -> str:
    """A listing folder: a prefix ending in '/' ('' for the top), so both stores list alike."""
    if folder and not folder.endswith("/"):
        raise ValueError(f"A folder to list ends with '/': got {folder!r}.")
    return validate_prefix(folder)


def _is_in_flight(name: str) -> bool:
    return name.startswith(_LOCAL_TEMP_PREFIX) or (
        name.startswith(".") and name.endswith(_SINK_TEMP_SUFFIX)
    )


def _read_chunks(stream: Any, chunk_size: int) -> Generator[bytes, None, None]:
    with stream:
        while chunk := stream.read(chunk_size):
            yield chunk


def _is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _S3_MISSING_CODES


class S3BlobStore:
    """Objects in one S3 bucket, through a boto3 S3 client (e.g. `S3Resource.get_client()`)."""

    parallel_reads = IO_THREADS  # each read is a round trip

    def __init__(self, client: S3Client, bucket: str, list_page_size: int = 1000) -> None:
        if not bucket:
            raise ValueError("S3BlobStore needs a bucket name; got an empty string.")
        self.client = client
        self.bucket = bucket
        self.list_page_size = list_page_size

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r})"

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=validate_key(key),
            Body=data,
            ContentType=content_type or DEFAULT_CONTENT_TYPE,
        )

    def create_new(self, key: str, data: bytes, content_type: str = "") -> bool:
        # A conditional write (`If-None-Match: *`): S3 refuses it with 412 when the key exists,
        # and with 409 when a concurrent conditional write to the same key is in flight.
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=validate_key(key),
                Body=data,
                ContentType=content_type or DEFAULT_CONTENT_TYPE,
                IfNoneMatch="*",
            )
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code in _S3_CONDITION_FAILED_CODES:
                return False
            raise
        return True

    def get_bytes(self, key: str) -> bytes:
        return b"".join(self.iter_bytes(key))

    def iter_bytes(
        self, key: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> Generator[bytes, None, None]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as error:
            if _is_missing(error):
                raise BlobNotFoundError(self.uri(key)) from None
            raise
        return _stream_body(response["Body"], chunk_size)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=validate_key(key))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=validate_key(key))

    def remove_empty_folder(self, folder: str) -> None:
        return None  # a prefix is no object: it is gone with its last key

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=validate_prefix(prefix),
            PaginationConfig={"PageSize": self.list_page_size},
        )
        return (item["Key"] for page in pages for item in page.get("Contents", []))

    def list_versions(self, folder: str) -> dict[str, str]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=_folder(folder),
            Delimiter="/",  # this folder's objects, not those of the folders below it
            PaginationConfig={"PageSize": self.list_page_size},
        )
        # S3 gives an object written again a new ETag unless it is the same bytes written the
        # same way (then it is the same content, which is all a version has to tell).
        return {
            item["Key"].removeprefix(folder): item["ETag"]
            for page in pages
            for item in page.get("Contents", [])
        }

    def move(self, src: str, dst: str) -> None:
        # S3 has no rename: copy, then delete the source once the copy exists.
        self.copy(src, dst)
        self.client.delete_object(Bucket=self.bucket, Key=src)

    def copy(self, src: str, dst: str) -> None:
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": validate_key(src)}
        try:  # within S3: the bytes do not pass through this process
            self.client.copy_object(Bucket=self.bucket, Key=validate_key(dst), CopySource=source)
        except ClientError as error:
            if _is_missing(error):
                raise BlobNotFoundError(self.uri(src)) from None
            raise

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{validate_key(key)}"

    def image_sink(self) -> ImageSink:
        """A streaming sink that uploads images into this bucket (multipart)."""
        from chargen_resources.streaming.sinks import S3MultipartSink

        return S3MultipartSink(self.client, self.bucket)


def _stream_body(body: Any, chunk_size: int) -> Generator[bytes, None, None]:
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()
