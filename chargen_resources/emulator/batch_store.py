"""Batch jobs on disk and the clock-driven state machine.

A job's state is computed from timestamps on every read, so every process agrees without a
scheduler: PENDING for ``pending_seconds``, RUNNING for ``running_seconds``, then due. A due job
is processed once (see ``batch_runner``) and its final result recorded in the same JSON file.
Layout: ``batches/<id>.json`` (BatchRecord), ``batches/<id>.inline.json`` (inline results).
"""

from __future__ import annotations

import contextlib
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from chargen_resources.emulator.clock import EmulatorClock, rfc3339
from chargen_resources.emulator.settings import BatchOutcome
from chargen_resources.emulator.store import atomic_write_json, locked, new_id, read_json
from chargen_resources.emulator.wire import ApiError, rpc_status

EXPIRY_SECONDS = 48 * 3600
BATCH_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"
OUTPUT_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatchOutput"
_BATCH_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

State = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"]
ENDED: frozenset[str] = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "EXPIRED"})


class BatchResult(BaseModel):
    state: State
    end_time: float
    successful: int = 0
    failed: int = 0
    output_file: str | None = None  # "files/batch-<id>" for file batches
    error_message: str | None = None


class BatchRecord(BaseModel):
    id: str
    model: str
    display_name: str | None
    create_time: float
    pending_seconds: float
    running_seconds: float
    outcome: BatchOutcome
    late_output_seconds: float
    input_file: str | None  # "files/<id>", or None for inline requests
    request_count: int
    cancel_time: float | None = None
    result: BatchResult | None = None

    def due_time(self) -> float:
        if self.outcome == "stuck":
            return math.inf
        return self.create_time + self.pending_seconds + self.running_seconds

    def state_at(self, now: float) -> State:
        """The state a poll at ``now`` sees, before any pending processing is done."""
        if self.result is not None:
            return self.result.state
        if self.cancel_time is not None:
            return "CANCELLED"
        if self.due_time() >= self.create_time + EXPIRY_SECONDS:
            if now >= self.create_time + EXPIRY_SECONDS:
                return "EXPIRED"
        elif now >= self.due_time():
            return "RUNNING"  # due: the caller should process it
        if now < self.create_time + self.pending_seconds or self.outcome == "stuck":
            return "PENDING"
        return "RUNNING"

    def is_due(self, now: float) -> bool:
        return (
            self.result is None
            and self.cancel_time is None
            and self.due_time() < self.create_time + EXPIRY_SECONDS
            and now >= self.due_time()
        )

    def end_time(self, state: str) -> float | None:
        if self.result is not None:
            return self.result.end_time
        if state == "CANCELLED":
            return self.cancel_time
        if state == "EXPIRED":
            return self.create_time + EXPIRY_SECONDS
        return None


def valid_batch_id(batch_id: str) -> bool:
    return _BATCH_ID.fullmatch(batch_id) is not None


class BatchStore:
    def __init__(self, state_dir: Path, clock: EmulatorClock) -> None:
        self.dir = state_dir / "batches"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock

    def record_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.json"

    def input_snapshot_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.input.jsonl"

    def inline_requests_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.requests.json"

    def inline_results_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.inline.json"

    def record_lock(self, batch_id: str) -> contextlib.AbstractContextManager[None]:
        return locked(self.dir / f"{batch_id}.lock")

    def process_lock_path(self, batch_id: str) -> Path:
        return self.dir / f"{batch_id}.process.lock"

    def new_batch_id(self) -> str:
        return new_id(36)

    def save(self, record: BatchRecord) -> None:
        atomic_write_json(self.record_path(record.id), record.model_dump())

    def load(self, batch_id: str) -> BatchRecord:
        if not valid_batch_id(batch_id):
            raise ApiError(
                400,
                f"Invalid batch name 'batches/{batch_id}': the id may contain "
                "only lowercase letters, digits and dashes.",
            )
        raw = read_json(self.record_path(batch_id))
        if raw is None:
            raise ApiError(404, f"Batch batches/{batch_id} does not exist (or was deleted).")
        return BatchRecord.model_validate(raw)

    def all(self) -> list[BatchRecord]:
        records = []
        for path in self.dir.glob("*.json"):
            if path.name.count(".") != 1:
                continue
            raw = read_json(path)
            if raw is not None:
                records.append(BatchRecord.model_validate(raw))
        records.sort(key=lambda r: (-r.create_time, r.id))
        return records

    def delete(self, batch_id: str) -> None:
        self.load(batch_id)
        with self.record_lock(batch_id):
            for path in (
                self.record_path(batch_id),
                self.inline_results_path(batch_id),
                self.inline_requests_path(batch_id),
            ):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def cancel(self, batch_id: str) -> None:
        with self.record_lock(batch_id):
            record = self.load(batch_id)
            if (
                record.state_at(self.clock.now()) in ("PENDING", "RUNNING")
                and record.result is None
            ):
                record.cancel_time = self.clock.now()
                self.save(record)

    def operation(self, record: BatchRecord, just_created: bool = False) -> dict[str, Any]:
        """The google.longrunning.Operation the service returns for a batch.

        A job is always PENDING in the answer to its creation, even with zero durations."""
        now = self.clock.now()
        state: State = "PENDING" if just_created else record.state_at(now)
        name = f"batches/{record.id}"
        metadata: dict[str, Any] = {
            "@type": BATCH_TYPE,
            "name": name,
            "model": f"models/{record.model}",
        }
        if record.display_name is not None:
            metadata["displayName"] = record.display_name
        if record.input_file:
            metadata["inputConfig"] = {"fileName": record.input_file}
        end = record.end_time(state)
        started = record.create_time + record.pending_seconds
        update = end if end is not None else (started if state == "RUNNING" else record.create_time)
        metadata["createTime"] = rfc3339(record.create_time)
        metadata["updateTime"] = rfc3339(update)
        if end is not None:
            metadata["endTime"] = rfc3339(end)
        stats: dict[str, str] = {"requestCount": str(record.request_count)}
        if record.result is not None and record.result.state == "SUCCEEDED":
            stats["successfulRequestCount"] = str(record.result.successful)
            if record.result.failed:
                stats["failedRequestCount"] = str(record.result.failed)
        else:
            stats["pendingRequestCount"] = str(record.request_count)
        metadata["batchStats"] = stats
        metadata["state"] = f"BATCH_STATE_{state}"
        operation: dict[str, Any] = {"name": name, "metadata": metadata}
        output = self._output(record) if state == "SUCCEEDED" else None
        if output is not None:
            metadata["output"] = output
        if state in ENDED:
            operation["done"] = True
            if output is not None:
                operation["response"] = {"@type": OUTPUT_TYPE, **output}
            elif state == "FAILED":
                message = (
                    record.result.error_message if record.result else None
                ) or "Batch failed."
                operation["error"] = rpc_status("INTERNAL", message)
            elif state == "EXPIRED":
                operation["error"] = rpc_status(
                    "DEADLINE_EXCEEDED", "Batch expired: it was not completed within 48 hours."
                )
        return operation

    def _output(self, record: BatchRecord) -> dict[str, Any] | None:
        if record.result is None:
            return None
        if record.result.output_file:
            return {"responsesFile": record.result.output_file}
        items = read_json(self.inline_results_path(record.id)) or []
        return {"inlinedResponses": {"inlinedResponses": items}}
