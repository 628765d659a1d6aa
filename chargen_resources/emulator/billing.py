"""What the emulator would have billed: one record per paid request, shared by every process.

A request is paid when it produced an answer (a batch line with a `response`, or a
generateContent / streamGenerateContent call that got past its injected faults); errors are not
billed, as on the real service. Each record carries a content fingerprint of the request with
file URIs replaced by the SHA-256 of the file's bytes, so the same request sent twice (even
after its sketches were uploaded again) counts once in `unique`. `paid / unique` is the number
chargen promises to keep at exactly 1.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

BillingKind = Literal["batch", "interactive"]
FileHasher = Callable[[str], str | None]


class PaidRequest(BaseModel):
    kind: BillingKind
    model: str
    fingerprint: str
    key: str | None = None
    at: float


class BillingSummary(BaseModel):
    paid: int
    unique: int
    batch: int
    interactive: int
    # fingerprints paid more than once, with how often (empty when chargen kept its promise)
    repeated: dict[str, int]


def _content_addressed(value: Any, file_hash: FileHasher) -> Any:
    """The request with every `fileData.fileUri` replaced by the hash of the file's bytes."""
    if isinstance(value, dict):
        out = {k: _content_addressed(v, file_hash) for k, v in value.items()}
        uri = value.get("fileUri")
        if isinstance(uri, str):
            out["fileUri"] = file_hash(uri) or uri
        return out
    if isinstance(value, list):
        return [_content_addressed(v, file_hash) for v in value]
    return value


def fingerprint(model: str, request: Any, file_hash: FileHasher) -> str:
    canonical = json.dumps(
        {"model": model, "request": _content_addressed(request, file_hash)}, sort_keys=True
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class Billing:
    """An append-only `billing.jsonl` in the state directory (appends under `flock`)."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "billing.jsonl"

    def charge(self, lines: Iterable[bytes]) -> None:
        """Append paid requests (`paid_line`s) at once, so a job is billed whole or not at all."""
        data = b"".join(lines)
        if not data:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())

    @staticmethod
    def paid_line(
        kind: BillingKind, model: str, request: Any, file_hash: FileHasher, key: str | None
    ) -> bytes:
        """One paid request as its line of `billing.jsonl`: a job of 10,000 requests holds its
        charges as these until its results become the job's (a fifth of the model's memory)."""
        record = PaidRequest(
            kind=kind,
            model=model,
            fingerprint=fingerprint(model, request, file_hash),
            key=key,
            at=time.time(),
        )
        return record.model_dump_json().encode() + b"\n"

    def records(self) -> list[PaidRequest]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as handle:
            return [PaidRequest.model_validate_json(line) for line in handle if line.strip()]

    def summary(self) -> BillingSummary:
        records = self.records()
        counts = Counter(r.fingerprint for r in records)
        return BillingSummary(
            paid=len(records),
            unique=len(counts),
            batch=sum(1 for r in records if r.kind == "batch"),
            interactive=sum(1 for r in records if r.kind == "interactive"),
            repeated={fp: n for fp, n in counts.items() if n > 1},
        )
