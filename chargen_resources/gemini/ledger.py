"""A durable record of what we submitted to Gemini, so that nothing is paid for twice.

Each record is a small JSON document in the chargen store (local folder or S3), which every
process of a deployment shares. A retried or re-executed run finds the job it already submitted
by the hash of its request set and reattaches to it instead of creating a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from chargen_resources.storage.layout import ledger_key


class DocumentStore(Protocol):
    """The part of a blob store the ledger needs."""

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...
    def get_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class BatchRecord(BaseModel):
    """One submission of one request set."""

    request_set: str
    stage: str
    model: str
    display_name: str
    keys: int
    # consumed: its results were stored; the same requests again mean a new job.
    status: Literal["submitting", "submitted", "succeeded", "consumed", "failed"] = "submitting"
    job_name: str | None = None
    input_file: str | None = None
    uploaded_files: list[str] = Field(default_factory=list)
    final_state: str | None = None
    attempts: int = 1
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


class UploadRecord(BaseModel):
    """A file uploaded to the Files API, reusable by content hash until it expires."""

    sha256: str
    file_name: str
    uri: str
    mime_type: str
    expires_at: datetime | None


def request_set_hash(model: str, lines: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """Identify a request set by content: same model, keys and requests give the same hash."""
    digest = hashlib.sha256(model.encode())
    for key, request in sorted(lines, key=lambda line: line[0]):
        digest.update(b"\n" + key.encode() + b"\t")
        digest.update(json.dumps(request, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()[:32]


class Ledger:
    def __init__(self, store: DocumentStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix.strip("/")

    def _batch_key(self, stage: str, request_set: str) -> str:
        return ledger_key(self._prefix, f"batch-{stage}-{request_set}")

    def _upload_key(self, sha256: str) -> str:
        return ledger_key(self._prefix, f"upload-{sha256}")

    def _put(self, key: str, model: BaseModel) -> None:
        self._store.put_bytes(key, model.model_dump_json(indent=2).encode(), "application/json")

    def find_batch(self, stage: str, request_set: str) -> BatchRecord | None:
        key = self._batch_key(stage, request_set)
        if not self._store.exists(key):
            return None
        return BatchRecord.model_validate_json(self._store.get_bytes(key))

    def save_batch(self, record: BatchRecord) -> BatchRecord:
        record = record.model_copy(update={"updated_at": _now()})
        self._put(self._batch_key(record.stage, record.request_set), record)
        return record

    def find_upload(self, sha256: str) -> UploadRecord | None:
        key = self._upload_key(sha256)
        if not self._store.exists(key):
            return None
        return UploadRecord.model_validate_json(self._store.get_bytes(key))

    def save_upload(self, record: UploadRecord) -> None:
        self._put(self._upload_key(record.sha256), record)

    def forget_upload(self, sha256: str) -> None:
        key = self._upload_key(sha256)
        if self._store.exists(key):
            self._store.delete(key)
