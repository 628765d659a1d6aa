"""Submit a set of requests as Gemini batch jobs, wait for them, and fetch their output.

One request set becomes one job (several only when the 2 GB input limit forces a split). Every
submission is recorded in the ledger first, so a crashed or retried run reattaches to the job it
already paid for instead of creating another.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google import genai
from google.genai import errors, types

from chargen_resources.gemini.ledger import BatchRecord, Ledger, request_set_hash

MAX_INPUT_FILE_BYTES = 2 * 1024**3
FAILED_STATES = {"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
SUCCEEDED_STATE = "JOB_STATE_SUCCEEDED"


@dataclass(frozen=True)
class BatchLine:
    """One request of a batch, keyed by the character it belongs to."""

    key: str
    request: dict[str, Any]

    def to_jsonl(self) -> bytes:
        return json.dumps({"key": self.key, "request": self.request}).encode() + b"\n"


@dataclass(frozen=True)
class PollPolicy:
    initial_interval: float = 5.0
    max_interval: float = 60.0
    backoff: float = 1.5
    timeout: float = 26 * 3600.0  # the service itself expires a job after 48 h
    report_every: float = 60.0  # a progress line at least this often, and on every state change
    download_timeout: float = 6 * 3600.0  # a 10 GB output file at a slow link still fits


@dataclass(frozen=True)
class Prepared:
    """The requests to send for a group, and the files uploaded for them (deleted after)."""

    lines: Sequence[BatchLine]
    uploaded_files: Sequence[str] = ()


@dataclass(frozen=True)
class FinishedJob:
    """A job that ended SUCCEEDED, with what we need to read and clean up after it."""

    job_name: str
    output_file: str
    keys: tuple[str, ...]
    reattached: bool
    record: BatchRecord


class BatchJobFailed(RuntimeError):
    """A job ended without results. The message names the job, its state and what to do."""

    def __init__(self, stage: str, job_name: str, state: str, detail: str | None = None) -> None:
        self.stage, self.job_name, self.state = stage, job_name, state
        reason = f": {detail}" if detail else ""
        super().__init__(
            f"The {stage} batch job {job_name} ended {state}{reason}. No result of it was kept. "
            "Re-running the step submits a new job for the same characters."
        )


class BatchJobTimedOut(RuntimeError):
    """We stopped waiting; the job goes on at the service and a re-run reattaches to it."""

    def __init__(self, stage: str, job_name: str, state: str, waited: float) -> None:
        self.stage, self.job_name, self.state = stage, job_name, state
        super().__init__(
            f"The {stage} batch job {job_name} is still {state} after {waited:.0f}s of waiting. "
            "It keeps running at Google: re-running the step reattaches to it instead of paying "
            "again. Raise the gemini resource's job_timeout_seconds to wait longer."
        )


@dataclass
class ProgressReport:
    stage: str
    job_name: str
    state: str
    total: int
    elapsed_seconds: float
    done: int | None = None
    failed: int | None = None

    def __str__(self) -> str:
        counts = f"{self.total} requests"
        if self.done is not None:
            counts = f"{self.done}/{self.total} done"
            if self.failed:
                counts += f", {self.failed} failed"
        return (
            f"{self.stage} batch {self.job_name}: {self.state}, {counts}, "
            f"{self.elapsed_seconds:.0f}s elapsed"
        )


def batch_counts(raw_operation: dict[str, Any]) -> tuple[int | None, int | None]:
    """(succeeded, failed) from an Operation's `metadata.batchStats` (int64s come as strings)."""
    stats = raw_operation.get("metadata", {}).get("batchStats") or {}

    def count(name: str) -> int | None:
        value = stats.get(name)
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    return count("successfulRequestCount"), count("failedRequestCount")


def split_by_size(lines: Sequence[BatchLine], max_bytes: int) -> list[list[BatchLine]]:
    """Group lines into input files of at most `max_bytes`, keeping their order."""
    groups: list[list[BatchLine]] = [[]]
    size = 0
    for line in lines:
        line_bytes = len(line.to_jsonl())
        if line_bytes > max_bytes:
            raise ValueError(
                f"the request for {line.key!r} alone is {line_bytes} bytes, over the batch "
                f"input limit of {max_bytes}; reference images through the Files API instead"
            )
        if groups[-1] and size + line_bytes > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(line)
        size += line_bytes
    return [group for group in groups if group]


def _state_name(job: types.BatchJob) -> str:
    return job.state.name if job.state is not None else "JOB_STATE_UNSPECIFIED"


@dataclass
class BatchJobRunner:
    client: genai.Client
    ledger: Ledger
    poll: PollPolicy = field(default_factory=PollPolicy)
    max_input_bytes: int = MAX_INPUT_FILE_BYTES
    log: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def run(
        self,
        *,
        stage: str,
        model: str,
        lines: Sequence[BatchLine],
        display_name: str,
        prepare: Callable[[Sequence[BatchLine]], Prepared] | None = None,
    ) -> list[FinishedJob]:
        """Submit (or reattach to) one job per input group and wait for all of them.

        `lines` identify the request set. When the requests to send depend on work worth
        skipping on reattach (uploading images, whose file names change per upload), pass
        content-addressed `lines` and a `prepare` that turns a group into the real requests;
        it is called only when a new job is submitted.
        """
        groups = split_by_size(lines, self.max_input_bytes)
        records = [
            self._submit_or_reattach(stage, model, group, display_name, prepare) for group in groups
        ]
        return [
            self._wait(stage, record, group) for record, group in zip(records, groups, strict=True)
        ]

    def _submit_or_reattach(
        self,
        stage: str,
        model: str,
        lines: Sequence[BatchLine],
        display_name: str,
        prepare: Callable[[Sequence[BatchLine]], Prepared] | None,
    ) -> tuple[BatchRecord, bool]:
        request_set = request_set_hash(model, [(line.key, line.request) for line in lines])
        known = self.ledger.find_batch(stage, request_set)
        # A job whose results were already stored ("consumed") is not reattached to: asking
        # again for the same requests (a retry after a line error, `regenerate`) means a new job.
        if known is not None and known.status in ("submitted", "succeeded") and known.job_name:
            self.log(
                f"{stage}: reattaching to {known.job_name} (already submitted for these requests)"
            )
            return known, True
        if known is not None and known.status == "submitting":
            found = self._find_job_by_display_name(known.display_name)
            if found is not None:
                self.log(f"{stage}: found {found} submitted before an interruption; reattaching")
                return self.ledger.save_batch(
                    known.model_copy(update={"job_name": found, "status": "submitted"})
                ), True
        attempts = known.attempts + 1 if known is not None else 1
        record = self.ledger.save_batch(
            BatchRecord(
                request_set=request_set,
                stage=stage,
                model=model,
                display_name=f"{display_name}-{request_set[:12]}-a{attempts}",
                keys=len(lines),
                attempts=attempts,
            )
        )
        prepared = prepare(lines) if prepare is not None else Prepared(lines)
        record = self.ledger.save_batch(
            record.model_copy(update={"uploaded_files": list(prepared.uploaded_files)})
        )
        payload = b"".join(line.to_jsonl() for line in prepared.lines)
        input_file = self.client.files.upload(
            file=io.BytesIO(payload),
            config=types.UploadFileConfig(
                # "jsonl" is what Google's batch guide passes; the service accepts any string.
                mime_type="jsonl",
                display_name=f"{record.display_name}.jsonl",
            ),
        )
        assert input_file.name is not None
        job = self.client.batches.create(
            model=model,
            src=input_file.name,
            config=types.CreateBatchJobConfig(display_name=record.display_name),
        )
        assert job.name is not None
        self.log(f"{stage}: submitted {job.name} with {len(lines)} requests")
        return self.ledger.save_batch(
            record.model_copy(
                update={"status": "submitted", "job_name": job.name, "input_file": input_file.name}
            )
        ), False

    def _counts(self, job_name: str) -> tuple[int | None, int | None]:
        """Progress counters when the service reports them; a failure here never fails the poll."""
        from chargen_resources.streaming.api_adapter import GoogleGenAIApiAdapter

        try:
            return batch_counts(GoogleGenAIApiAdapter(self.client).get_resource(job_name))
        except Exception:
            return None, None

    def _find_job_by_display_name(self, display_name: str) -> str | None:
        for job in self.client.batches.list(config=types.ListBatchJobsConfig(page_size=100)):
            if job.display_name == display_name:
                return job.name
        return None

    def _wait(
        self, stage: str, submitted: tuple[BatchRecord, bool], lines: Sequence[BatchLine]
    ) -> FinishedJob:
        record, reattached = submitted
        job_name = record.job_name
        assert job_name is not None
        started = self.clock()
        interval = self.poll.initial_interval
        last_state = ""
        last_report = started
        while True:
            job = self.client.batches.get(name=job_name)
            state = _state_name(job)
            now = self.clock()
            if state != last_state or now - last_report >= self.poll.report_every:
                done, failed = self._counts(job_name)
                elapsed = now - started
                self.log(
                    str(ProgressReport(stage, job_name, state, len(lines), elapsed, done, failed))
                )
                last_state, last_report = state, now
            if state == SUCCEEDED_STATE:
                output = job.dest.file_name if job.dest else None
                if not output:
                    raise BatchJobFailed(stage, job_name, state, "it reported no output file")
                record = self.ledger.save_batch(
                    record.model_copy(update={"status": "succeeded", "final_state": state})
                )
                return FinishedJob(
                    job_name=job_name,
                    output_file=output,
                    keys=tuple(line.key for line in lines),
                    reattached=reattached,
                    record=record,
                )
            if state in FAILED_STATES:
                self.ledger.save_batch(
                    record.model_copy(update={"status": "failed", "final_state": state})
                )
                detail = job.error.message if job.error and job.error.message else None
                raise BatchJobFailed(stage, job_name, state, detail)
            if self.clock() - started > self.poll.timeout:
                raise BatchJobTimedOut(stage, job_name, state, self.clock() - started)
            self.sleep(interval)
            interval = min(interval * self.poll.backoff, self.poll.max_interval)

    def download_output(self, job: FinishedJob, destination: Path, patience: float = 120.0) -> Path:
        """Stream the output file to disk (never into memory).

        A job may report SUCCEEDED a moment before its output file is readable: keep trying
        for `patience` seconds before giving up.
        """
        deadline = self.clock() + patience
        delay = self.poll.initial_interval
        while True:
            try:
                self.client.files.download(
                    file=job.output_file,
                    destination=str(destination),
                    # The client's request timeout (sent to Google as X-Server-Timeout too)
                    # suits API calls, not a multi-gigabyte output file.
                    config=types.DownloadFileConfig(
                        http_options=types.HttpOptions(
                            timeout=int(self.poll.download_timeout * 1000)
                        )
                    ),
                )
                return destination
            except errors.ClientError as error:
                if error.code != 404 or self.clock() >= deadline:
                    raise
                self.log(f"{job.job_name}: output {job.output_file} not readable yet; waiting")
                self.sleep(delay)
                delay = min(delay * 2, 5.0)

    def finish(self, job: FinishedJob, delete_files: bool = True) -> list[str]:
        """After the job's results are stored: mark it consumed and delete its input file and
        the files uploaded for it (unless asked to keep them). Returns what was deleted."""
        deleted = []
        if delete_files:
            for name in [job.record.input_file, *job.record.uploaded_files]:
                if not name:
                    continue
                try:
                    self.client.files.delete(name=name)
                    deleted.append(name)
                except errors.ClientError as error:
                    if error.code not in (403, 404):  # already gone
                        raise
        self.ledger.save_batch(job.record.model_copy(update={"status": "consumed"}))
        return deleted


def iter_file_chunks(path: Path, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            yield chunk
