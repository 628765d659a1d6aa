"""The durable record of every request chargen pays for, shared by every process and run.

Three kinds of JSON document live under `<prefix>/_ledger/` in the chargen store (a local
folder or S3), which every process of a deployment sees:

    claims/<stage>/<fingerprint>/<generation>.json       who carries one request (atomic create)
    claims/<stage>/<fingerprint>/<generation>-done.json  its result was stored (or it failed)
    jobs/<display name>.json                             a live batch job: its lines and files
    jobs-ended/<display name>.json                       the same, once consumed or failed
    uploads/<sha256>.json                                a file on the Files API, by content
    staging/<area>.json                                  a staging folder in use, and by whom

A claim is created with the store's atomic create (`O_EXCL`-style link locally, a conditional
`PutObject` with `If-None-Match: *` on S3): of any number of runs that need the same request
at the same moment, exactly one becomes its carrier. Taking a claim over (its job failed, or
its claimant died before submitting) is the atomic create of the next generation, so two runs
can never both take over the same claim. Only a claim's creator writes its job record.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, Field

from chargen_resources.storage.blob_store import BlobNotFoundError
from chargen_resources.storage.layout import ledger_folder, ledger_key

GENERATION_WIDTH = 6
INTERACTIVE_CARRIER_PREFIX = "interactive-"


M = TypeVar("M", bound=BaseModel)


class DocumentStore(Protocol):
    """The part of a blob store the ledger needs."""

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None: ...
    def create_new(self, key: str, data: bytes, content_type: str) -> bool: ...
    def get_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def list_keys(self, prefix: str = "") -> Iterator[str]: ...


def now() -> datetime:
    return datetime.now(UTC)


def fingerprint(model: str, request: dict[str, Any]) -> str:
    """What one paid request is, by content: the model and the request as sent, with uploaded
    files named by the hash of their bytes (callers pass requests in that form), so the same
    request has the same fingerprint in every run, whatever its files were uploaded as."""
    canonical = json.dumps({"model": model, "request": request}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _pid_namespace() -> str | None:
    """This process's PID namespace ("pid:[4026531836]"), None where the OS has none to show.

    Containers on the host's network share its hostname, and each numbers its processes from 1:
    only a process in the same namespace can look a claimant's pid up."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _process_start(pid: int) -> str | None:
    """The kernel's start time of `pid` (tells a live process from a reused pid); None if gone.
    Without /proc (macOS), "" for any process that exists: alive, start time unknown."""
    if not Path("/proc/self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return ""
        return ""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from its end.
    return stat.rsplit(")", 1)[1].split()[19]


class Claimant(BaseModel):
    """The process that made a claim, precisely enough to tell later whether it still lives."""

    host: str
    pid: int
    process_start: str | None = None
    run_id: str | None = None
    pid_namespace: str | None = None  # None in claims written before it was recorded

    @classmethod
    def this_process(cls, run_id: str | None = None) -> Claimant:
        pid = os.getpid()
        return cls(
            host=socket.gethostname(),
            pid=pid,
            process_start=_process_start(pid),
            run_id=run_id,
            pid_namespace=_pid_namespace(),
        )

    def is_alive(self) -> bool | None:
        """True or False where its pid can be looked up (this host, this PID namespace); None
        when it ran elsewhere (only its lease can tell)."""
        if self.host != socket.gethostname():
            return None
        if self.pid_namespace is not None and self.pid_namespace != _pid_namespace():
            return None
        start = _process_start(self.pid)
        if start is None:
            return False
        return not self.process_start or not start or start == self.process_start


class Claim(BaseModel):
    """One request, and the job (or interactive call) that carries it."""

    stage: str
    fingerprint: str
    generation: int
    carrier: str  # a batch job's display name, or "interactive-..." for a direct call
    line_key: str  # the key of its line in that job's output
    claimant: Claimant
    claimed_at: datetime = Field(default_factory=now)
    # Until then a claim whose job does not exist yet is presumed in progress, even when
    # nothing on this host can see its claimant; after it, the claim may be taken over.
    lease_until: datetime

    @property
    def interactive(self) -> bool:
        return self.carrier.startswith(INTERACTIVE_CARRIER_PREFIX)

    @property
    def ref(self) -> ClaimRef:
        return ClaimRef(fingerprint=self.fingerprint, generation=self.generation)


class LineDone(BaseModel):
    """A claim's result was stored (`stored`), or its request ended without a usable result."""

    stored: bool
    reason: str | None = None
    at: datetime = Field(default_factory=now)


class ClaimRef(BaseModel):
    fingerprint: str
    generation: int


JobStatus = Literal["submitting", "submitted", "succeeded", "failed", "consumed"]


class JobRecord(BaseModel):
    """One batch job: written before it is created, so a crash at any point can be recovered."""

    display_name: str
    stage: str
    model: str
    claimant: Claimant
    status: JobStatus = "submitting"
    lines: dict[str, ClaimRef] = Field(default_factory=dict)  # output line key -> its claim
    uploaded_files: list[str] = Field(default_factory=list)
    # Referenced but left for a later stage's job (sketches the image job reuses): in use while
    # this job lives, never deleted by it (the Files API expires them after 48 h).
    shared_files: list[str] = Field(default_factory=list)
    input_file: str | None = None
    job_name: str | None = None
    output_file: str | None = None
    final_state: str | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)

    def files(self) -> list[str]:
        """Files on the Files API made for this job: deleted once it ends."""
        return [name for name in [self.input_file, *self.uploaded_files] if name]


class StagingArea(BaseModel):
    """A folder under `_staging/` a process writes images into while it reads an answer."""

    area: str
    claimant: Claimant
    opened_at: datetime = Field(default_factory=now)


class UploadRecord(BaseModel):
    """A file uploaded to the Files API, reusable by content hash until it expires."""

    sha256: str
    file_name: str
    uri: str
    mime_type: str
    expires_at: datetime | None


class Ledger:
    def __init__(self, store: DocumentStore, prefix: str) -> None:
        self._store = store
        self._prefix = prefix.strip("/")

    def atomic_create_holds(self) -> bool:
        """Whether the store really refuses a second create of one key (an S3-compatible store
        that ignores `If-None-Match` would let two runs both win a claim)."""
        key = ledger_key(self._prefix, "probes", secrets.token_hex(8))
        try:
            first = self._store.create_new(key, b"1", "text/plain")
            second = self._store.create_new(key, b"2", "text/plain")
        finally:
            self._store.delete(key)
        return first and not second

    # ---- claims
    def _claim_key(self, stage: str, fp: str, generation: int, suffix: str = "") -> str:
        return ledger_key(
            self._prefix, "claims", stage, fp, f"{generation:0{GENERATION_WIDTH}d}{suffix}"
        )

    def try_claim(self, claim: Claim) -> bool:
        """Create this claim if no claim of its generation exists; True if this call made it."""
        return self._store.create_new(
            self._claim_key(claim.stage, claim.fingerprint, claim.generation),
            claim.model_dump_json(indent=2).encode(),
            "application/json",
        )

    def current_claim(self, stage: str, fp: str) -> Claim | None:
        """The newest generation of the request's claim, or None if it was never claimed."""
        folder = ledger_folder(self._prefix, "claims", stage, fp)
        generations = [
            key
            for key in self._store.list_keys(folder)
            if key.removeprefix(folder).removesuffix(".json").isdigit()
        ]
        if not generations:
            return None
        return Claim.model_validate_json(self._store.get_bytes(max(generations)))

    def mark_done(self, stage: str, ref: ClaimRef, done: LineDone) -> None:
        key = self._claim_key(stage, ref.fingerprint, ref.generation, "-done")
        self._store.put_bytes(key, done.model_dump_json().encode(), "application/json")

    def done(self, stage: str, ref: ClaimRef) -> LineDone | None:
        key = self._claim_key(stage, ref.fingerprint, ref.generation, "-done")
        if not self._store.exists(key):
            return None
        return LineDone.model_validate_json(self._store.get_bytes(key))

    def standing(self, claim: Claim) -> tuple[JobRecord | None, LineDone | None]:
        """What a claim stands on: the batch job carrying it (None for an interactive call, or
        a job not recorded yet) and its done mark (None while its result is not settled)."""
        job = None if claim.interactive else self.find_job(claim.carrier)
        return job, self.done(claim.stage, claim.ref)

    # ---- jobs: live ones apart from ended ones, so that listing the live ones stays cheap
    def _job_key(self, display_name: str, ended: bool = False) -> str:
        return ledger_key(self._prefix, "jobs-ended" if ended else "jobs", display_name)

    def save_job(self, record: JobRecord) -> JobRecord:
        record = record.model_copy(update={"updated_at": now()})
        ended = record.status in ("consumed", "failed")
        self._put(self._job_key(record.display_name, ended), record)
        if ended:
            self._store.delete(self._job_key(record.display_name))
        return record

    def find_job(self, display_name: str) -> JobRecord | None:
        # Live first: a job that ends meanwhile is written to ended before it leaves live.
        for ended in (False, True):
            record = self._read(self._job_key(display_name, ended), JobRecord)
            if record is not None:
                return record
        return None

    def live_jobs(self, stage: str | None = None) -> list[JobRecord]:
        """Jobs not yet consumed or failed (of one stage, or all)."""
        records = self._read_all(ledger_folder(self._prefix, "jobs"), JobRecord)
        return [record for record in records if stage is None or record.stage == stage]

    def forget_job(self, display_name: str) -> None:
        self._store.delete(self._job_key(display_name))

    def fence(self, display_name: str, side: Literal["create", "abandon"]) -> str:
        """Who decides a job's fate: its owner, just before `batches.create` ("create"), or a
        run recovering it from a claimant presumed dead ("abandon"). The first to write wins,
        atomically, and the other side yields; so a job is never both created and replaced."""
        key = ledger_key(self._prefix, "fences", display_name)
        if self._store.create_new(key, side.encode(), "text/plain"):
            return side
        return self._store.get_bytes(key).decode()

    # ---- staging areas: what a process killed mid-read leaves is found and removed
    def open_staging(self, area: StagingArea) -> None:
        self._put(ledger_key(self._prefix, "staging", area.area), area)

    def close_staging(self, area: str) -> None:
        self._store.delete(ledger_key(self._prefix, "staging", area))

    def staging_areas(self) -> list[StagingArea]:
        return self._read_all(ledger_folder(self._prefix, "staging"), StagingArea)

    # ---- uploads
    def _upload_key(self, sha256: str) -> str:
        return ledger_key(self._prefix, "uploads", sha256)

    def find_upload(self, sha256: str) -> UploadRecord | None:
        return self._read(self._upload_key(sha256), UploadRecord)

    def save_upload(self, record: UploadRecord) -> None:
        self._put(self._upload_key(record.sha256), record)

    def forget_upload(self, sha256: str) -> None:
        self._store.delete(self._upload_key(sha256))

    def _read(self, key: str, model: type[M]) -> M | None:
        """The record at `key`, or None: another run may remove it at any moment (a job that
        ends leaves the live folder, a closed staging area its record)."""
        try:
            return model.model_validate_json(self._store.get_bytes(key))
        except BlobNotFoundError:
            return None

    def _read_all(self, folder: str, model: type[M]) -> list[M]:
        """Every record listed in `folder` that is still there when read."""
        records = (self._read(key, model) for key in self._store.list_keys(folder))
        return [record for record in records if record is not None]

    def _put(self, key: str, model: BaseModel) -> None:
        self._store.put_bytes(key, model.model_dump_json(indent=2).encode(), "application/json")
