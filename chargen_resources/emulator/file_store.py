"""Files and resumable uploads on disk: one JSON record and one data file per file.

Layout under the state directory::

    files/<id>.json      FileRecord (written atomically)
    files/<id>.bin       the bytes (renamed into place when complete)
    uploads/<uid>.json   UploadSession;  uploads/<uid>.part  bytes received so far
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal

from pydantic import BaseModel

from chargen_resources.emulator.clock import EmulatorClock, rfc3339
from chargen_resources.emulator.store import (
    atomic_write_json,
    atomic_writer,
    locked,
    new_id,
    read_json,
)
from chargen_resources.emulator.wire import ApiError

MAX_FILE_BYTES = 2 * 1024**3
MAX_PROJECT_BYTES = 20 * 1024**3
UPLOAD_TTL_SECONDS = 48 * 3600
GENERATED_TTL_SECONDS = 6 * 7 * 24 * 3600  # batch results are kept for six weeks
COPY_CHUNK = 1024 * 1024
_FILE_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")  # generated: batch-<batch id>
MAX_USER_ID_LENGTH = 40
# The quota is counted exactly (a listing of the files) at most this often, and whenever an upload
# would come within a tenth of it; in between, from the last count and this store's own uploads.
QUOTA_RECOUNT_SECONDS = 1.0
NEAR_QUOTA = 0.9


class FileRecord(BaseModel):
    id: str
    display_name: str | None = None
    mime_type: str
    size_bytes: int
    sha256: str  # base64 of the digest, as the service sends it
    create_time: float
    expiration_time: float
    source: Literal["UPLOADED", "GENERATED"]
    visible_after: float = 0.0  # a generated file can be announced before it exists

    def to_wire(self, base_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {"name": f"files/{self.id}"}
        if self.display_name:
            body["displayName"] = self.display_name
        body.update(
            {
                "mimeType": self.mime_type,
                "sizeBytes": str(self.size_bytes),
                "createTime": rfc3339(self.create_time),
                "updateTime": rfc3339(self.create_time),
                "expirationTime": rfc3339(self.expiration_time),
                "sha256Hash": self.sha256,
                "uri": f"{base_url}/v1beta/files/{self.id}",
                "state": "ACTIVE",
                "source": self.source,
            }
        )
        if self.source == "GENERATED":
            body["downloadUri"] = f"{base_url}/download/v1beta/files/{self.id}:download?alt=media"
        return body


class UploadSession(BaseModel):
    upload_id: str
    file_id: str
    display_name: str | None
    mime_type: str
    declared_size: int


def _sha256_base64(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(COPY_CHUNK):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def valid_file_id(file_id: str) -> bool:
    return _FILE_ID.fullmatch(file_id) is not None


class FileStore:
    def __init__(self, state_dir: Path, clock: EmulatorClock) -> None:
        self.files_dir = state_dir / "files"
        self.uploads_dir = state_dir / "uploads"
        # Every upload ever published (deleted files included): tests count uploads with it.
        self.upload_log = state_dir / "uploads.jsonl"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        # What the quota needs of each record read, by file id, with the identity of the file it
        # was read from: ((inode, mtime), uploaded bytes or 0, visible after, expires at).
        self._quota_records: dict[str, tuple[tuple[int, int], int, float, float]] = {}
        self._quota_lock = threading.Lock()
        self._counted_bytes = 0  # the last exact count,
        self._counted_at = -QUOTA_RECOUNT_SECONDS  # when (monotonic seconds),
        self._published_since = 0  # and the bytes this store has published since

    # ---- paths
    def _record_path(self, file_id: str) -> Path:
        return self.files_dir / f"{file_id}.json"

    def data_path(self, file_id: str) -> Path:
        return self.files_dir / f"{file_id}.bin"

    # ---- reading
    def _load(self, file_id: str) -> FileRecord | None:
        if not valid_file_id(file_id):
            return None
        raw = read_json(self._record_path(file_id))
        return FileRecord.model_validate(raw) if raw is not None else None

    def _alive(self, record: FileRecord, now: float) -> bool:
        return now < record.expiration_time and now >= record.visible_after

    def find(self, file_id: str) -> FileRecord | None:
        """The file if it exists, is visible and has not expired."""
        record = self._load(file_id)
        if record is None or not self._alive(record, self.clock.now()):
            return None
        return record

    def content_hash(self, uri: str) -> str | None:
        """The SHA-256 of the bytes behind a file URI (expired or not), for billing."""
        match = re.search(r"files/([a-z0-9-]+)", uri)
        record = self._load(match.group(1)) if match else None
        return f"sha256:{record.sha256}" if record is not None else None

    def get(self, file_id: str) -> FileRecord:
        record = self.find(file_id)
        if record is None:
            raise ApiError(
                404,
                f"File files/{file_id} does not exist, has expired (files live 48 hours) "
                "or was deleted.",
            )
        return record

    def resolve_for_model(self, file_id: str) -> tuple[Path, str]:
        record = self.find(file_id)
        if record is None:
            raise ApiError(
                400,
                f"The file files/{file_id} referenced by fileData does not exist or has expired. "
                "Upload it again and use the new uri.",
            )
        return self.data_path(file_id), record.mime_type

    def list_alive(self) -> list[FileRecord]:
        now = self.clock.now()
        alive: list[FileRecord] = []
        for path in self.files_dir.glob("*.json"):
            try:
                record = FileRecord.model_validate(read_json(path))
            except (ValueError, TypeError):
                continue
            if now >= record.expiration_time:
                self._remove(record.id)  # the service deletes expired files; so do we, lazily
            elif self._alive(record, now):
                alive.append(record)
        alive.sort(key=lambda r: (-r.create_time, r.id))
        return alive

    def uploads_ever(self) -> list[dict[str, Any]]:
        """Every upload published since the state folder was made, oldest first."""
        if not self.upload_log.exists():
            return []
        return [json.loads(line) for line in self.upload_log.read_text().splitlines() if line]

    def uploaded_bytes(self) -> int:
        """Bytes of the uploads alive now (the project quota counts them). A record is written
        once (a name deleted and used again is a new record file), so each is read once per
        process and one listing per check tells which are new or gone: checking is not reading
        every record again, which made 10,000 uploads take quadratic time. A record file is
        known by inode and modification time, since a filesystem may give a deleted record's
        inode to the next one written."""
        now = self.clock.now()
        listed: dict[str, tuple[int, int]] = {}
        with os.scandir(self.files_dir) as entries:
            for entry in entries:
                if entry.name.endswith(".json"):
                    with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                        stat = entry.stat()
                        listed[entry.name.removesuffix(".json")] = (stat.st_ino, stat.st_mtime_ns)
        cached = self._quota_records
        for gone in cached.keys() - listed.keys():
            cached.pop(gone, None)  # pop: the server's threads may check at once
        used = 0
        for file_id, identity in listed.items():
            known = cached.get(file_id)
            if known is None or known[0] != identity:
                try:
                    record = FileRecord.model_validate(read_json(self._record_path(file_id)))
                except (ValueError, TypeError):  # removed meanwhile, or not a record
                    continue
                uploaded = record.size_bytes if record.source == "UPLOADED" else 0
                known = (identity, uploaded, record.visible_after, record.expiration_time)
                cached[file_id] = known
            _, uploaded, visible_after, expires = known
            if now >= expires:
                self._remove(file_id)  # the service deletes expired files; so do we, lazily
                cached.pop(file_id, None)
            elif now >= visible_after:
                used += uploaded
        return used

    def _quota_in_use(self, size: int) -> int:
        """The bytes counted against the quota, for an upload of `size`. Counting lists every
        file: once per upload that made 10,000 uploads quadratic, so between counts the last
        one plus this store's own uploads stands in (another process's are seen within a
        second, and exactly whenever the upload would come near the quota)."""
        with self._quota_lock:
            now = time.monotonic()
            estimate = self._counted_bytes + self._published_since
            if (
                now - self._counted_at < QUOTA_RECOUNT_SECONDS
                and estimate + size <= MAX_PROJECT_BYTES * NEAR_QUOTA
            ):
                return estimate
            self._counted_bytes = self.uploaded_bytes()
            self._counted_at = now
            self._published_since = 0
            return self._counted_bytes

    # ---- deleting
    def _remove(self, file_id: str) -> None:
        # Forgotten here too: the record written next under this name may get the same inode
        # and, within the clock's granularity, the same modification time.
        self._quota_records.pop(file_id, None)
        with contextlib.suppress(FileNotFoundError):
            self._record_path(file_id).unlink()
        with contextlib.suppress(FileNotFoundError):
            self.data_path(file_id).unlink()

    def delete(self, file_id: str) -> None:
        self.get(file_id)
        self._remove(file_id)

    # ---- uploads
    def start_upload(
        self, meta: dict[str, Any], declared_size: int | None, mime: str | None
    ) -> str:
        size = declared_size if declared_size is not None else meta.get("sizeBytes")
        try:
            size_value = int(size) if size is not None else None
        except (TypeError, ValueError):
            raise ApiError(400, f"Invalid upload size '{size}': expected a byte count.") from None
        if size_value is None:
            raise ApiError(400, "Missing X-Goog-Upload-Header-Content-Length: the upload size.")
        if size_value < 0:
            raise ApiError(400, f"Invalid upload size {size_value}.")
        if size_value > MAX_FILE_BYTES:
            raise ApiError(
                400,
                f"File of {size_value} bytes exceeds the 2 GB (2147483648 bytes) per-file limit.",
            )
        used = self._quota_in_use(size_value)
        if used + size_value > MAX_PROJECT_BYTES:
            raise ApiError(
                429,
                f"Project file storage quota of 20 GB exceeded ({used} bytes in use, "
                f"{size_value} requested). Delete files or wait for them to expire.",
            )
        mime_type = str(meta.get("mimeType") or mime or "").strip()
        if not mime_type:
            raise ApiError(400, "The upload has no MIME type: set file.mimeType.")
        display = meta.get("displayName")
        if display is not None and len(str(display)) > 512:
            raise ApiError(400, "displayName is longer than 512 characters.")
        requested = str(meta.get("name") or "")
        if requested:
            file_id = requested.removeprefix("files/")
            if not valid_file_id(file_id) or len(file_id) > MAX_USER_ID_LENGTH:
                raise ApiError(
                    400,
                    f"Invalid file name '{requested}': use files/ followed by up "
                    "to 40 lowercase letters, digits or dashes (not at either end).",
                )
            if self.find(file_id) is not None:
                raise ApiError(409, f"File files/{file_id} already exists.")
        else:
            file_id = new_id(12)
        session = UploadSession(
            upload_id=new_id(24),
            file_id=file_id,
            display_name=str(display) if display is not None else None,
            mime_type=mime_type,
            declared_size=size_value,
        )
        atomic_write_json(self.uploads_dir / f"{session.upload_id}.json", session.model_dump())
        return session.upload_id

    def _session(self, upload_id: str) -> UploadSession:
        raw = read_json(self.uploads_dir / f"{upload_id}.json") if upload_id.isalnum() else None
        if raw is None:
            raise ApiError(404, f"Upload session '{upload_id}' does not exist or is finished.")
        return UploadSession.model_validate(raw)

    def append_chunk(
        self, upload_id: str, offset: int, body: BinaryIO, length: int, finalize: bool
    ) -> FileRecord | None:
        """Write one chunk straight to disk; on finalize, publish the file and return it."""
        session = self._session(upload_id)
        part = self.uploads_dir / f"{upload_id}.part"
        with locked(self.uploads_dir / f"{upload_id}.lock"):
            received = part.stat().st_size if part.exists() else 0
            if offset != received:
                raise ApiError(
                    400,
                    f"Upload offset {offset} does not match the {received} bytes "
                    "received so far; resume from that offset.",
                )
            if received + length > session.declared_size:
                raise ApiError(
                    400, f"Upload exceeds its declared size of {session.declared_size} bytes."
                )
            with open(part, "ab") as handle:
                remaining = length
                while remaining > 0:
                    chunk = body.read(min(COPY_CHUNK, remaining))
                    if not chunk:
                        raise ApiError(400, "The upload chunk ended before Content-Length bytes.")
                    handle.write(chunk)
                    remaining -= len(chunk)
            if not finalize:
                return None
            total = received + length
            if total != session.declared_size:
                raise ApiError(
                    400,
                    f"Upload finalized with {total} bytes but "
                    f"{session.declared_size} were declared.",
                )
            return self._publish(session, part)

    def _publish(self, session: UploadSession, part: Path) -> FileRecord:
        if not part.exists():
            part.touch()
        now = self.clock.now()
        record = FileRecord(
            id=session.file_id,
            display_name=session.display_name,
            mime_type=session.mime_type,
            size_bytes=part.stat().st_size,
            sha256=_sha256_base64(part),
            create_time=now,
            expiration_time=now + UPLOAD_TTL_SECONDS,
            source="UPLOADED",
        )
        part.replace(self.data_path(record.id))
        atomic_write_json(self._record_path(record.id), record.model_dump())
        with self._quota_lock:
            self._published_since += record.size_bytes
        entry = {
            "name": f"files/{record.id}",
            "sha256": record.sha256,
            "sizeBytes": record.size_bytes,
        }
        with self.upload_log.open("a") as log:
            log.write(json.dumps({**entry, "displayName": record.display_name}) + "\n")
        with contextlib.suppress(FileNotFoundError):
            (self.uploads_dir / f"{session.upload_id}.json").unlink()
        return record

    # ---- generated files (batch output)
    @contextlib.contextmanager
    def generated_writer(self, file_id: str) -> Iterator[IO[bytes]]:
        with atomic_writer(self.data_path(file_id)) as handle:
            yield handle

    def register_generated(
        self, file_id: str, display_name: str, mime_type: str, visible_after: float = 0.0
    ) -> FileRecord:
        path = self.data_path(file_id)
        now = self.clock.now()
        record = FileRecord(
            id=file_id,
            display_name=display_name,
            mime_type=mime_type,
            size_bytes=path.stat().st_size,
            sha256=_sha256_base64(path),
            create_time=now,
            expiration_time=now + GENERATED_TTL_SECONDS,
            source="GENERATED",
            visible_after=visible_after,
        )
        atomic_write_json(self._record_path(file_id), record.model_dump())
        return record
