"""Doing a due batch's work exactly once, whichever process notices first.

The work runs in a thread of the process that saw the job due, under a non-blocking ``flock``
(other processes keep answering RUNNING meanwhile). If that process dies, the lock goes with
it and the next poll anywhere starts over; output files are renamed into place only when
complete, so a half-done run leaves nothing behind.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from chargen_resources.emulator.batch_store import BatchRecord, BatchResult, BatchStore
from chargen_resources.emulator.billing import Billing
from chargen_resources.emulator.file_store import FileStore
from chargen_resources.emulator.inference import answer, faults_of
from chargen_resources.emulator.settings import EmulatorSettings
from chargen_resources.emulator.store import atomic_write_json, read_json, try_locked
from chargen_resources.emulator.wire import HTTP_STATUS_NAMES, ApiError, normalise_keys, rpc_status
from chargen_resources.streaming.ahead import worked_ahead

SYNC_WAIT_SECONDS = 10.0  # a poll waits this long for a small batch to finish before answering
BATCH_LINE_THREADS = 2


def run_one(
    model: str,
    request: Any,
    marker_texts: tuple[str, ...],
    store: FileStore,
    settings: EmulatorSettings,
) -> dict[str, Any]:
    """{"response": ...} or {"error": Status} for one batch request."""
    if not isinstance(request, dict):
        return {"error": rpc_status("INVALID_ARGUMENT", "The line has no 'request' object.")}
    normalised = normalise_keys(request)
    normalised.pop("model", None)
    faults = faults_of(normalised, marker_texts)
    if faults.http_status is not None:
        status = HTTP_STATUS_NAMES.get(faults.http_status, "UNKNOWN")
        return {
            "error": rpc_status(status, f"Injected fault [emulator:http-{faults.http_status}].")
        }
    if faults.line_error:
        return {"error": rpc_status("INTERNAL", "Injected fault [emulator:line-error].")}
    try:
        result = answer(model, normalised, store.resolve_for_model, settings.draft_images)
    except ApiError as error:
        return {"error": error.rpc_status()}
    return {"response": result.to_response()}


def _input_lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield line


def count_input_lines(path: Path) -> int:
    return sum(1 for _ in _input_lines(path))


def _line_output(
    line: str, model: str, store: FileStore, settings: EmulatorSettings
) -> tuple[dict[str, Any], bytes | None]:
    """One input line's output line, and its billing line when it was answered (and so paid)."""
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError as exc:
        return {
            "error": rpc_status("INVALID_ARGUMENT", f"Invalid JSON in batch input line: {exc}.")
        }, None
    if not isinstance(parsed, dict):
        return {
            "error": rpc_status("INVALID_ARGUMENT", "A batch input line must be a JSON object.")
        }, None
    key = parsed.get("key")
    texts = (str(key),) if key is not None else ()
    request = parsed.get("request")
    if request is None and "key" not in parsed and "contents" in parsed:
        request = parsed  # the batch guide's REST sample writes bare GenerateContentRequests
    outcome = run_one(model, request, texts, store, settings)
    paid = (
        Billing.paid_line(
            "batch", model, request, store.content_hash, str(key) if key is not None else None
        )
        if "response" in outcome
        else None
    )
    return ({"key": key, **outcome} if key is not None else outcome), paid


def _write_file_output(
    record: BatchRecord,
    snapshot: Path,
    files: FileStore,
    settings: EmulatorSettings,
    handle: IO[bytes],
    paid: list[bytes],
) -> tuple[int, int]:
    """Stream one output line per input line to ``handle``; returns (successful, failed)."""
    assert record.input_file is not None
    source = snapshot
    successful = failed = 0
    # Google works a batch's lines in parallel; here two at a time, in order, since drawing and
    # encoding a PNG mostly leaves the GIL.
    outputs = worked_ahead(
        lambda line: _line_output(line, record.model, files, settings),
        _input_lines(source),
        threads=BATCH_LINE_THREADS,
        name=f"batch-{record.id}-line",
    )
    for outcome, paid_line in outputs:
        if paid_line is not None:
            paid.append(paid_line)
        if "error" in outcome:
            failed += 1
        else:
            successful += 1
        handle.write(json.dumps(outcome, ensure_ascii=False, separators=(",", ":")).encode())
        handle.write(b"\n")
    return successful, failed


class BatchRunner:
    def __init__(
        self,
        batches: BatchStore,
        files: FileStore,
        settings: EmulatorSettings,
        billing: Billing,
    ) -> None:
        self.batches = batches
        self.billing = billing
        self.files = files
        self.settings = settings
        self._threads: dict[str, threading.Thread] = {}
        self._guard = threading.Lock()

    def settle(self, record: BatchRecord) -> BatchRecord:
        """If the job is due, get its work done (waiting briefly) and return the fresh record."""
        if not record.is_due(self.batches.clock.now()):
            return record
        with self._guard:
            thread = self._threads.get(record.id)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(
                    target=self._process, args=(record.id,), name=f"batch-{record.id}", daemon=True
                )
                self._threads[record.id] = thread
                thread.start()
        thread.join(SYNC_WAIT_SECONDS)
        try:
            return self.batches.load(record.id)
        except ApiError:
            return record

    def _process(self, batch_id: str) -> None:
        with try_locked(self.batches.process_lock_path(batch_id)) as acquired:
            if not acquired:
                return  # another process is on it
            try:
                record = self.batches.load(batch_id)
            except ApiError:
                return
            if not record.is_due(self.batches.clock.now()):
                return
            paid: list[bytes] = []
            try:
                result, paid = self._run(record)
            except Exception as exc:  # a bug must end the job, not hang it RUNNING forever
                result = BatchResult(
                    state="FAILED",
                    end_time=self.batches.clock.now(),
                    error_message=f"Emulator error while processing: {exc!r}",
                )
            with self.batches.record_lock(batch_id):
                try:
                    fresh = self.batches.load(batch_id)
                except ApiError:
                    return
                if fresh.result is None and fresh.cancel_time is None:
                    fresh.result = result
                    self.batches.save(fresh)
                    # Billed once, when the job's results become the job's: a process that
                    # died halfway through left no result and charged nothing.
                    self.billing.charge(paid)

    def _run(self, record: BatchRecord) -> tuple[BatchResult, list[bytes]]:
        clock = self.batches.clock
        if record.outcome == "failed":
            return BatchResult(
                state="FAILED",
                end_time=clock.now(),
                error_message="Injected fault [emulator:batch-failed].",
            ), []
        if record.outcome == "expired":
            return BatchResult(state="EXPIRED", end_time=clock.now()), []
        if record.input_file is None:
            return self._run_inline(record)
        output_id = f"batch-{record.id}"
        paid: list[bytes] = []
        with self.files.generated_writer(output_id) as handle:
            successful, failed = _write_file_output(
                record,
                self.batches.input_snapshot_path(record.id),
                self.files,
                self.settings,
                handle,
                paid,
            )
        end = clock.now()
        late = record.late_output_seconds if record.outcome == "late-output" else 0.0
        self.files.register_generated(
            output_id,
            display_name=output_id,
            mime_type="application/jsonl",
            visible_after=end + late,
        )
        return BatchResult(
            state="SUCCEEDED",
            end_time=end,
            successful=successful,
            failed=failed,
            output_file=f"files/{output_id}",
        ), paid

    def _run_inline(self, record: BatchRecord) -> tuple[BatchResult, list[bytes]]:
        items = read_json(self.batches.inline_requests_path(record.id)) or []
        results: list[dict[str, Any]] = []
        successful = failed = 0
        paid: list[bytes] = []
        for item in items:
            metadata = item.get("metadata") if isinstance(item, dict) else None
            texts = tuple(str(v) for v in metadata.values()) if isinstance(metadata, dict) else ()
            request = item.get("request") if isinstance(item, dict) else None
            outcome = run_one(record.model, request, texts, self.files, self.settings)
            if "error" in outcome:
                failed += 1
            else:
                successful += 1
                paid.append(
                    Billing.paid_line("batch", record.model, request, self.files.content_hash, None)
                )
            if metadata is not None:
                outcome["metadata"] = metadata
            results.append(outcome)
        atomic_write_json(self.batches.inline_results_path(record.id), results)
        return BatchResult(
            state="SUCCEEDED",
            end_time=self.batches.clock.now(),
            successful=successful,
            failed=failed,
        ), paid
