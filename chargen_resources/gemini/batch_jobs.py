"""Carry paid requests to Gemini exactly once: claim each, send the unclaimed, attach to the rest.

A stage hands the runner one request per character, in content-addressed form (uploaded
images named by the hash of their bytes). The runner fingerprints each and claims it in the
ledger (see `ledger` and `claims`): a request nobody carries is sent in a new batch job of this
run (or, interactively, by the caller); a request another live job carries is attached to, and
its line is read from that job's output; a request whose carrier failed or died is taken over.
Two runs over overlapping characters therefore pay for each request once, whichever starts
first, and neither waits for the other except for the seconds between a claim and its job's
creation.

Commit order, the same for every stage: claim -> job record -> uploads -> input file ->
`batches.create` -> job name recorded -> poll -> output read and every result stored and
recorded (by the caller) -> each line marked done -> the job's files deleted -> consumed.
A crash anywhere leaves a ledger from which the next run reattaches and pays nothing twice.
"""

from __future__ import annotations

import itertools
import json
import secrets
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Literal

import httpx2
from google import genai
from google.genai import errors, types

from chargen_resources.gemini.claims import Decision, decide, run_over_decides
from chargen_resources.gemini.crash_points import crash_point
from chargen_resources.gemini.ledger import (
    INTERACTIVE_CARRIER_PREFIX,
    Claim,
    Claimant,
    ClaimRef,
    JobRecord,
    Ledger,
    LineDone,
    fingerprint,
)
from chargen_resources.gemini.uploads import UPLOAD_THREADS
from chargen_resources.storage.blob_store import IO_THREADS
from chargen_resources.streaming.ahead import each_ahead, worked_ahead
from chargen_resources.streaming.api_adapter import GoogleGenAIApiAdapter
from chargen_resources.streaming.errors import GeminiHttpError
from chargen_resources.streaming.file_download import DownloadProgress, FileDownloadClient
from chargen_resources.words import counted

MAX_INPUT_FILE_BYTES = 2 * 1024**3
FAILED_STATES = {"JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
SUCCEEDED_STATE = "JOB_STATE_SUCCEEDED"
RETRYABLE_DOWNLOAD_CODES = {408, 429, 500, 502, 503, 504}


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
    download_stall: float = 120.0  # a download silent this long is cut and resumed
    download_attempts: int = 6  # on 429, 5xx and cut connections, with backoff
    # A claim whose job is not created within this long, by a claimant no one on this host can
    # see, may be taken over (after looking the job up by its display name).
    claim_lease: float = 15 * 60.0
    # How long a run waits for another run's claimed-but-unsubmitted requests before failing
    # those characters (to be re-run later).
    claim_wait: float = 30 * 60.0


@dataclass(frozen=True)
class Prepared:
    """The requests to send for a group, and the files on the Files API they reference.

    `lines` is read once, as the input file is written: a generator keeps a job of thousands
    of requests from being held whole in memory (the uploads are done by then)."""

    lines: Iterable[BatchLine]
    uploaded_files: Sequence[str] = ()  # deleted when the job ends
    shared_files: Sequence[str] = ()  # left for a later stage's job (see JobRecord)


@dataclass(frozen=True)
class FinishedJob:
    """A job that ended SUCCEEDED, and which of its output lines this run needs, for whom."""

    record: JobRecord
    wanted: dict[str, list[str]]  # output line key -> our characters
    owned: bool

    @property
    def job_name(self) -> str:
        assert self.record.job_name is not None
        return self.record.job_name

    @property
    def output_file(self) -> str:
        assert self.record.output_file is not None
        return self.record.output_file


@dataclass
class Carriage:
    """Who carries each of one stage's requests in this run."""

    stage: str
    model: str
    characters_of: dict[str, list[str]]  # fingerprint -> the characters that need it
    # character -> its content-addressed request, until sent (may build each when looked up)
    requests: Mapping[str, dict[str, Any]]
    sizes: dict[str, int] = field(default_factory=dict)  # fingerprint -> bytes as a batch line
    owned_jobs: list[str] = field(default_factory=list)  # display names of jobs we created
    interactive: dict[str, Claim] = field(default_factory=dict)  # fingerprint -> our claim
    attached: dict[str, Claim] = field(default_factory=dict)  # fingerprint -> another's claim
    kept: set[str] = field(default_factory=set)  # characters another run just stored
    paid_here: set[str] = field(default_factory=set)  # characters whose request this run sends
    failed: dict[str, str] = field(default_factory=dict)  # character -> reason

    def fail(self, fp: str, reason: str) -> None:
        for character in self.characters_of[fp]:
            self.failed[character] = reason


class BatchJobFailed(RuntimeError):
    """A job ended without results. The message names the job, its state and what to do."""

    def __init__(self, stage: str, job_name: str, state: str, detail: str | None = None) -> None:
        self.stage, self.job_name, self.state = stage, job_name, state
        reason = f": {detail}" if detail else ""
        super().__init__(
            f"the {stage} batch job {job_name} ended {state}{reason}; no result of it was kept. "
            "Re-running these characters submits a new job for them"
        )


class BatchOutputUnavailable(RuntimeError):
    """The output file of a finished job could not be read; `gone` when it no longer exists
    (rather than a network fault): its results can then never be read again."""

    def __init__(self, message: str, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


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
        counts = counted(self.total, "request")
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


def split_by_size(sizes: Iterable[tuple[str, int]], max_bytes: int) -> list[list[str]]:
    """Group lines, given as (key, bytes), into input files of at most `max_bytes`, keeping
    their order."""
    groups: list[list[str]] = [[]]
    size = 0
    for key, line_bytes in sizes:
        if line_bytes > max_bytes:
            raise ValueError(
                f"the request for {key!r} alone is {line_bytes} bytes, over the batch "
                f"input limit of {max_bytes}; reference images through the Files API instead"
            )
        if groups[-1] and size + line_bytes > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(key)
        size += line_bytes
    return [group for group in groups if group]


def _state_name(job: types.BatchJob) -> str:
    return job.state.name if job.state is not None else "JOB_STATE_UNSPECIFIED"


DownloadVerdict = Literal["not-yet", "retry", "gone", "fail"]


def _download_verdict(
    error: Exception, delivered: int, patient: bool, failures: int, poll: PollPolicy
) -> DownloadVerdict:
    """What a failed download attempt means: an output not readable yet (404 before any byte,
    within patience), a transient failure to retry, an output gone for good, or a failure."""
    status = error.code if isinstance(error, GeminiHttpError) else None
    if status == 404 and not delivered and patient:
        return "not-yet"
    transient = status in RETRYABLE_DOWNLOAD_CODES or isinstance(
        error, httpx2.TransportError | ConnectionError | TimeoutError
    )
    if transient and failures + 1 < poll.download_attempts:
        return "retry"
    if status in (403, 404):
        return "gone"
    return "fail"


def _line_done(reasons: Sequence[str]) -> LineDone:
    """A line that was read: stored, or failed for the first of its characters' reasons."""
    return LineDone(stored=not reasons, reason=reasons[0] if reasons else None)


def _identity(ref: ClaimRef) -> tuple[str, int]:
    """A claim as a set member (the model itself is not hashable)."""
    return ref.fingerprint, ref.generation


def new_token() -> str:
    """Unique enough to name one run's jobs: a timestamp and 24 random bits."""
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class BatchJobRunner:
    client: genai.Client
    ledger: Ledger
    poll: PollPolicy = field(default_factory=PollPolicy)
    max_input_bytes: int = MAX_INPUT_FILE_BYTES
    log: Callable[[str], None] = print
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    delete_files: bool = True  # delete a job's input file and uploads once it ends
    run_id: str | None = None
    # Whether the orchestrator's run of this id has ended (Dagster's run status): how a
    # claimant on another host, a run's pod or container, is known to be gone before its lease.
    run_over: Callable[[str], bool] = lambda run_id: False
    _ended_runs: set[str] = field(default_factory=set, init=False, repr=False)

    # ---- claiming
    def claim(
        self,
        *,
        stage: str,
        model: str,
        requests: Mapping[str, dict[str, Any]],
        display_name: str,
        prepare: Callable[[Sequence[str]], Prepared] | None = None,
        interactive: bool = False,
        regenerate: bool = False,
        resend: Collection[str] = (),
        ours_stored: Callable[[str], bool] = lambda character: False,
        regenerate_since: datetime | None = None,
    ) -> Carriage:
        """Claim every character's request; submit one batch job for those nobody carries.

        `requests` are content-addressed (their fingerprint's source), by character; a lazy
        mapping that builds each when looked up keeps thousands from being held at once.
        `prepare` turns a group of characters into the requests really sent (uploading
        images) and is called only for a job this run creates. With `interactive`, owned
        requests are not submitted: the caller sends them itself (`Carriage.interactive`) and
        reports each with `settle_interactive`.
        `regenerate` (every character) or `resend` (these characters) asks again even for a
        request whose result was stored, instead of reading that result back; only for results
        older than `regenerate_since` (the start of the logical run), so a retry of a
        regenerating run does not pay again for what its first attempt already got.
        """
        carriage = Carriage(stage=stage, model=model, characters_of={}, requests=requests)
        for character in sorted(requests):
            line = BatchLine(character, requests[character])
            # The line's key is sent with the request, so it is part of what is paid for.
            fp = fingerprint(model, {"key": line.key, "request": line.request})
            carriage.characters_of.setdefault(fp, []).append(character)
            carriage.sizes[fp] = len(line.to_jsonl())
        claimant = Claimant.this_process(self.run_id)
        token = new_token()
        pending = list(carriage.characters_of)
        started = self.clock()
        given_up: set[str] = set()  # our jobs taken over while we uploaded: never created

        def resolve(carrier_of: Mapping[str, str], fp: str) -> tuple[str, tuple[str, Claim]]:
            anew = regenerate or any(c in resend for c in carriage.characters_of[fp])
            return fp, self._resolve(
                carriage,
                fp,
                carrier_of[fp],
                claimant,
                anew,
                ours_stored,
                regenerate_since,
                given_up=given_up,
            )

        for attempt in itertools.count():
            if attempt:  # what we wait for is seconds of another run's uploads
                self.sleep(self.poll.initial_interval)
            carrier_of = self._carriers(
                carriage, pending, display_name, token, attempt, interactive
            )
            waiting = []
            owned: dict[str, list[Claim]] = {}
            # Each request's claim is its own: resolved several at once (a few ledger round
            # trips each), decided on here in order.
            resolved = worked_ahead(
                partial(resolve, carrier_of),
                pending,
                threads=IO_THREADS,
                name="claim",
            )
            for fp, (verdict, claim) in resolved:
                if verdict == "own":
                    carriage.paid_here.update(carriage.characters_of[fp])
                if verdict == "own" and interactive:
                    carriage.interactive[fp] = claim
                elif verdict == "own":
                    owned.setdefault(claim.carrier, []).append(claim)
                elif verdict == "attach":
                    carriage.attached[fp] = claim
                elif verdict == "kept":
                    carriage.kept.update(carriage.characters_of[fp])
                else:
                    waiting.append(fp)
            for carrier in carrier_of.values():
                if carrier not in owned and not interactive:
                    self.ledger.forget_job(carrier)
            for carrier, claims in owned.items():
                if not self._submit(carriage, carrier, claims, prepare):
                    given_up.add(carrier)
                    for lost in claims:  # decide again: another run carries them now
                        carriage.paid_here.difference_update(
                            carriage.characters_of[lost.fingerprint]
                        )
                        waiting.append(lost.fingerprint)
            if waiting and attempt == 0:
                self.log(
                    f"{stage}: {counted(len(waiting), 'request')} being submitted by another run; "
                    "waiting to attach to its job instead of paying for them again"
                )
            pending = waiting
            if not pending:
                break
            if self.clock() - started > self.poll.claim_wait:
                for fp in pending:
                    carriage.fail(
                        fp,
                        "another run claimed this request and has not submitted it after "
                        f"{self.clock() - started:.0f}s; re-run this character later",
                    )
                break
        if carriage.attached:
            jobs = sorted({claim.carrier for claim in carriage.attached.values()})
            self.log(
                f"{stage}: {counted(len(carriage.attached), 'request')} already carried by "
                f"{', '.join(jobs)}; attaching to {'it' if len(jobs) == 1 else 'them'} "
                "instead of paying again"
            )
        # Each request is in a submitted job (or sent by the caller) now: not held while the
        # jobs run and their output is read.
        carriage.requests = {}
        carriage.sizes.clear()
        return carriage

    def _carriers(
        self,
        carriage: Carriage,
        fps: Sequence[str],
        display_name: str,
        token: str,
        attempt: int,
        interactive: bool,
    ) -> dict[str, str]:
        """The job (or interactive carrier) each request would go in if we end up sending it.

        Split before claiming, so that every claim names its real job from the start; a job
        record exists before any claim points at it.
        """
        round_tag = f"-r{attempt}" if attempt else ""
        if interactive:
            return dict.fromkeys(fps, f"{INTERACTIVE_CARRIER_PREFIX}{token}{round_tag}")
        groups = split_by_size(((fp, carriage.sizes[fp]) for fp in fps), self.max_input_bytes)
        carriers: dict[str, str] = {}
        for number, group in enumerate(groups, start=1):
            part = f"-p{number}" if len(groups) > 1 else ""
            name = f"{display_name}-{token}{round_tag}{part}"
            self.ledger.save_job(
                JobRecord(
                    display_name=name,
                    stage=carriage.stage,
                    model=carriage.model,
                    claimant=Claimant.this_process(self.run_id),
                )
            )
            carriers.update(dict.fromkeys(group, name))
        return carriers

    def _resolve(
        self,
        carriage: Carriage,
        fp: str,
        carrier: str,
        claimant: Claimant,
        regenerate: bool,
        ours_stored: Callable[[str], bool],
        regenerate_since: datetime | None = None,
        given_up: Set[str] = frozenset(),
    ) -> tuple[str, Claim]:
        """Claim one request, or say whose claim to attach to, or that we must wait.

        `given_up`: jobs of ours that another run took over before we created them."""
        stage = carriage.stage
        characters = carriage.characters_of[fp]
        while True:
            current = self.ledger.current_claim(stage, fp)
            generation = 0
            if current is not None:
                job, done = self.ledger.standing(current)
                # A result from this very logical run (a retry's first attempt) is not
                # regenerated again: that would pay twice for one `regenerate`.
                ours_already = (
                    done is not None
                    and regenerate_since is not None
                    and done.at >= regenerate_since
                )
                # Our own claim whose job we gave up is certainly not being created: if
                # whoever took it over has not claimed it again, we do, now, rather than
                # wait out our own lease.
                gone = current.carrier in given_up
                alive = False if gone else current.claimant.is_alive()
                decision = decide(
                    current,
                    job,
                    done,
                    claimant_alive=alive,
                    claimant_run_over=run_over_decides(job, alive)
                    and self._run_over(current.claimant),
                    at=datetime.now(UTC),
                    regenerate=regenerate and not ours_already,
                    ours_stored=any(ours_stored(c) for c in characters),
                )
                if decision is Decision.KEPT:
                    return "kept", current
                if decision is Decision.ATTACH:
                    return "attach", current
                if decision is Decision.WAIT:
                    return "wait", current
                if decision is Decision.RECOVER:
                    outcome = self._recover(
                        job or self._placeholder(current), current.lease_until, alive
                    )
                    if outcome != "take over":
                        return outcome, current
                generation = current.generation + 1
            claim = Claim(
                stage=stage,
                fingerprint=fp,
                generation=generation,
                carrier=carrier,
                line_key=characters[0],
                claimant=claimant,
                lease_until=datetime.now(UTC) + timedelta(seconds=self.poll.claim_lease),
            )
            if self.ledger.try_claim(claim):
                crash_point("claimed")
                return "own", claim
            # Another run made this generation a moment ago: read theirs and decide again.

    def _run_over(self, claimant: Claimant) -> bool:
        """Whether the run that made a claim has ended (never this run: it is us). An ended
        run stays ended, so each is asked about once, however many claims it left."""
        run_id = claimant.run_id
        if run_id is None or run_id == self.run_id:
            return False
        if run_id not in self._ended_runs and self.run_over(run_id):
            self._ended_runs.add(run_id)
        return run_id in self._ended_runs

    def _recover(self, job: JobRecord, lease_until: datetime, alive: bool | None) -> str:
        """A claim whose job was never recorded, from a claimant presumed gone: "attach" if the
        job exists after all (its name is now in the ledger), "wait" if its owner is creating it
        right now, "take over" when it will never exist (its files are then deleted).

        The fence decides the race with a slow owner: whoever writes it first wins, so an owner
        past its lease either creates its job (and we wait, then attach) or never does."""
        found = self._find_job_by_display_name(job.display_name)
        if found is not None:
            self.log(f"{job.stage}: found {found}, submitted before an interruption; attaching")
            self.ledger.save_job(job.model_copy(update={"job_name": found, "status": "submitted"}))
            return "attach"
        if self.ledger.fence(job.display_name, "abandon") == "create":
            # Its owner reached `batches.create`. While it may still be in that call, wait; once
            # it is certainly gone (or long past its lease) and no job was listed, it failed.
            overdue = datetime.now(UTC) > lease_until + timedelta(seconds=self.poll.claim_lease)
            if alive is not False and not overdue:
                return "wait"
        self._delete_files(job)
        self.ledger.forget_job(job.display_name)
        return "take over"

    @staticmethod
    def _placeholder(claim: Claim) -> JobRecord:
        """The record of a job whose record is gone: only its display name is known."""
        return JobRecord(
            display_name=claim.carrier, stage=claim.stage, model="", claimant=claim.claimant
        )

    def _submit(
        self,
        carriage: Carriage,
        carrier: str,
        claims: list[Claim],
        prepare: Callable[[Sequence[str]], Prepared] | None,
    ) -> bool:
        """Create the job for our claims; False when a recoverer took them over meanwhile."""
        record = self.ledger.find_job(carrier) or JobRecord(
            display_name=carrier,
            stage=carriage.stage,
            model=carriage.model,
            claimant=Claimant.this_process(self.run_id),
        )
        record = self.ledger.save_job(
            record.model_copy(update={"lines": {c.line_key: c.ref for c in claims}})
        )
        crash_point("job-recorded")
        try:
            return self._upload_and_create(carriage, carrier, claims, prepare, record)
        except Exception:
            # Nothing created (or the create failed for sure): let others take these requests
            # over at once instead of waiting out our lease.
            if self.ledger.fence(carrier, "abandon") == "abandon":
                fresh = self.ledger.find_job(carrier) or record
                self._delete_files(fresh)
                self.ledger.forget_job(carrier)
            raise

    def _upload_and_create(
        self,
        carriage: Carriage,
        carrier: str,
        claims: list[Claim],
        prepare: Callable[[Sequence[str]], Prepared] | None,
        record: JobRecord,
    ) -> bool:
        keys = [claim.line_key for claim in claims]
        requests = carriage.requests
        prepared = (
            prepare(keys)
            if prepare is not None
            else Prepared(BatchLine(key, requests[key]) for key in keys)
        )
        record = self.ledger.save_job(
            record.model_copy(
                update={
                    "uploaded_files": list(prepared.uploaded_files),
                    "shared_files": list(prepared.shared_files),
                }
            )
        )
        crash_point("uploaded")
        with tempfile.TemporaryFile() as payload:  # written line by line, never whole in memory
            for line in prepared.lines:
                payload.write(line.to_jsonl())
            payload.seek(0)
            input_file = self.client.files.upload(
                file=payload,
                config=types.UploadFileConfig(
                    # "jsonl" is what Google's batch guide passes; the service accepts any string.
                    mime_type="jsonl",
                    display_name=f"{carrier}.jsonl",
                ),
            )
        assert input_file.name is not None
        record = self.ledger.save_job(record.model_copy(update={"input_file": input_file.name}))
        crash_point("input-uploaded")
        if self.ledger.fence(carrier, "create") != "create":
            # A recoverer took these claims over while we prepared (we were presumed dead):
            # do not create; our characters attach to whatever carries their requests now.
            self.log(f"{carriage.stage}: {carrier} was taken over by another run; not creating it")
            self._delete_files(record)
            return False
        crash_point("fenced")
        try:
            job = self.client.batches.create(
                model=carriage.model,
                src=input_file.name,
                config=types.CreateBatchJobConfig(
                    display_name=carrier,
                    # Never repeated blindly: a create that reached the service but answered
                    # with an error or a timeout is looked up by its display name instead.
                    http_options=types.HttpOptions(
                        retry_options=types.HttpRetryOptions(attempts=1)
                    ),
                ),
            )
        except Exception:
            found = self._find_job_by_display_name(carrier)
            if found is None:
                self.ledger.save_job(record.model_copy(update={"status": "failed"}))
                self._delete_files(record)
                raise
            job = types.BatchJob(name=found, display_name=carrier)
        assert job.name is not None
        crash_point("created")
        self.ledger.save_job(
            record.model_copy(update={"job_name": job.name, "status": "submitted"})
        )
        crash_point("submitted")
        carriage.owned_jobs.append(carrier)
        self.log(f"{carriage.stage}: submitted {job.name} with {counted(len(claims), 'request')}")
        return True

    def _find_job_by_display_name(self, display_name: str) -> str | None:
        for job in self.client.batches.list(config=types.ListBatchJobsConfig(page_size=100)):
            if job.display_name == display_name:
                return job.name
        return None

    # ---- waiting
    def wait(self, carriage: Carriage) -> list[FinishedJob]:
        """Wait for every job that carries one of our requests; failed jobs fail their
        characters (in `carriage.failed`), finished ones are returned to be read."""
        wanted: dict[str, dict[str, list[str]]] = {name: {} for name in carriage.owned_jobs}
        for name in carriage.owned_jobs:
            record = self.ledger.find_job(name)
            assert record is not None
            for line_key, ref in record.lines.items():
                wanted[name][line_key] = carriage.characters_of[ref.fingerprint]
        for fp, claim in carriage.attached.items():
            wanted.setdefault(claim.carrier, {})[claim.line_key] = carriage.characters_of[fp]
        finished = []
        for name, lines in wanted.items():
            try:
                record = self._wait_for(carriage.stage, name, sum(map(len, lines.values())))
            except BatchJobFailed as error:
                for characters in lines.values():
                    for character in characters:
                        carriage.failed[character] = str(error)
                continue
            finished.append(FinishedJob(record, lines, owned=name in carriage.owned_jobs))
        return finished

    def _wait_for(self, stage: str, display_name: str, count: int) -> JobRecord:
        record = self.ledger.find_job(display_name)
        assert record is not None and record.job_name is not None
        if record.output_file and record.status in ("succeeded", "consumed"):
            return record
        job_name = record.job_name
        started = self.clock()
        interval = self.poll.initial_interval
        last_state = ""
        last_report = started
        while True:
            job = self.client.batches.get(name=job_name)
            crash_point("polled")
            state = _state_name(job)
            now = self.clock()
            if state != last_state or now - last_report >= self.poll.report_every:
                done, failed = self._counts(job_name)
                self.log(
                    str(ProgressReport(stage, job_name, state, count, now - started, done, failed))
                )
                last_state, last_report = state, now
            if state == SUCCEEDED_STATE:
                output = job.dest.file_name if job.dest else None
                if not output:  # nothing will ever be readable: let the next run send again
                    self.ledger.save_job(record.model_copy(update={"status": "failed"}))
                    raise BatchJobFailed(stage, job_name, state, "it reported no output file")
                record = self.ledger.find_job(display_name) or record
                if record.status != "consumed":
                    record = self.ledger.save_job(
                        record.model_copy(
                            update={
                                "status": "succeeded",
                                "final_state": state,
                                "output_file": output,
                            }
                        )
                    )
                crash_point("succeeded")
                return record
            if state in FAILED_STATES:
                self._delete_files(record)  # first: a crash after the mark would leak them
                record = self.ledger.save_job(
                    record.model_copy(update={"status": "failed", "final_state": state})
                )
                detail = job.error.message if job.error and job.error.message else None
                raise BatchJobFailed(stage, job_name, state, detail)
            if now - started > self.poll.timeout:
                raise BatchJobFailed(
                    stage,
                    job_name,
                    f"still {state} after {now - started:.0f}s of waiting",
                    "it goes on at Google, and re-running these characters attaches to it "
                    "instead of paying again (raise the gemini resource's job_timeout_seconds "
                    "to wait longer)",
                )
            self.sleep(interval)
            interval = min(interval * self.poll.backoff, self.poll.max_interval)

    def _counts(self, job_name: str) -> tuple[int | None, int | None]:
        """Progress counters when the service reports them; a failure here never fails the poll."""
        try:
            return batch_counts(GoogleGenAIApiAdapter(self.client).get_resource(job_name))
        except Exception:
            return None, None

    # ---- reading
    def output_chunks(self, job: FinishedJob, patience: float = 120.0) -> Iterator[bytes]:
        """The job's output file, streamed from the service as it arrives: never whole in
        memory, never on disk.

        A job may report SUCCEEDED a moment before its output is readable (404 for a while),
        and a download may meet 429/5xx, a cut or a stalled connection: both are retried with
        backoff. A retry continues at the first byte not yet handed on (with `Range` where the
        service honours it, else by dropping what it sends again), so the reader sees one
        unbroken stream: nothing it already stored is stored twice, not even the image it was
        in the middle of. Attempts are counted between two that made progress."""
        download = FileDownloadClient(GoogleGenAIApiAdapter(self.client))
        progress = DownloadProgress()
        deadline = self.clock() + patience
        delay = self.poll.initial_interval
        failures = 0
        while True:
            before = progress.delivered
            try:  # a consumer's own error never lands here: it is not raised inside a generator
                yield from download.read(
                    job.output_file,
                    progress,
                    server_timeout=self.poll.download_timeout,
                    stall_seconds=self.poll.download_stall,
                )
                return
            except Exception as error:
                if progress.delivered > before:
                    failures, delay = 0, self.poll.initial_interval
                verdict = _download_verdict(
                    error, progress.delivered, self.clock() < deadline, failures, self.poll
                )
                if verdict == "gone":
                    raise BatchOutputUnavailable(
                        f"the output {job.output_file} of batch job {job.job_name} no longer "
                        "exists at the service; re-running these characters sends them again",
                        gone=True,
                    ) from None
                if verdict == "fail":
                    raise BatchOutputUnavailable(
                        f"the output {job.output_file} of batch job {job.job_name} could not be "
                        f"downloaded ({type(error).__name__}: {error}). The job's results are "
                        "kept at the service: re-running these characters reads them again "
                        "without paying"
                    ) from None
                if verdict == "not-yet":
                    self.log(f"{job.job_name}: output {job.output_file} not readable yet; waiting")
                else:
                    failures += 1
                    self.log(
                        f"{job.job_name}: downloading {job.output_file} failed at byte "
                        f"{progress.delivered} ({error}); retry {failures} of "
                        f"{self.poll.download_attempts - 1}, from that byte"
                    )
            self.sleep(delay)
            delay = min(delay * 2, self.poll.max_interval)

    # ---- settling
    def settle(self, stage: str, jobs: Sequence[FinishedJob], problems: Mapping[str, str]) -> None:
        """After every result of these jobs was stored and recorded: mark each line we read
        done (stored, or failed with `problems[character]`), then consume the jobs whose every
        line is done (their files are deleted)."""

        def mark(line: tuple[ClaimRef, LineDone]) -> None:
            self.ledger.mark_done(stage, *line)
            crash_point("line-done")

        for job in jobs:
            lines = [
                (ref, _line_done([problems[c] for c in characters if c in problems]))
                for line_key, characters in job.wanted.items()
                if (ref := job.record.lines.get(line_key)) is not None
            ]
            each_ahead(mark, lines, threads=IO_THREADS, name="done")
            self._consume_if_complete(job.record, done_here={_identity(ref) for ref, _ in lines})

    def sweep(self, stage: str, stored_from: Mapping[str, str | None]) -> None:
        """Finish what a crashed run left half done, so no job's files outlive it.

        `stored_from` maps characters whose stored result this run keeps to the batch job that
        made it: their lines are marked done, and a job whose every line is done is consumed.
        A job that was never created and whose claimant is dead loses its uploads (its claims
        are taken over by whoever needs them next)."""
        jobs_of: dict[str, set[str]] = {}
        for character, job_name in stored_from.items():
            if job_name:
                jobs_of.setdefault(job_name, set()).add(character)
        for record in self.ledger.live_jobs(stage):
            if record.job_name is None:
                alive = record.claimant.is_alive()
                if alive is False or (alive is None and self._run_over(record.claimant)):
                    self._recover(record, record.updated_at, alive)
                continue
            stored_here = jobs_of.get(record.job_name, set())
            if not stored_here or record.status != "succeeded":
                continue
            done_here: set[tuple[str, int]] = set()
            for line_key, ref in record.lines.items():
                if line_key in stored_here:
                    if self.ledger.done(stage, ref) is None:
                        self.ledger.mark_done(stage, ref, LineDone(stored=True))
                    done_here.add(_identity(ref))
            self._consume_if_complete(record, done_here)

    def output_lost(self, job: FinishedJob) -> None:
        """A job whose output is gone for good: mark it failed so its requests are sent again."""
        fresh = self.ledger.find_job(job.record.display_name) or job.record
        self._delete_files(fresh)
        self.ledger.save_job(
            fresh.model_copy(update={"status": "failed", "final_state": "OUTPUT_LOST"})
        )

    def settle_interactive(self, stage: str, claim: Claim, problem: str | None) -> None:
        self.ledger.mark_done(stage, claim.ref, LineDone(stored=problem is None, reason=problem))
        crash_point("line-done")

    def _consume_if_complete(
        self, record: JobRecord, done_here: Collection[tuple[str, int]] = ()
    ) -> None:
        """Consume the job if every line is done: those this run just marked (`done_here`) are
        not read back, which would be a round trip per line on S3."""
        fresh = self.ledger.find_job(record.display_name) or record
        if fresh.status == "consumed" or not fresh.lines:
            return
        lines_done = worked_ahead(
            lambda ref: self.ledger.done(fresh.stage, ref) is not None,
            (ref for ref in fresh.lines.values() if _identity(ref) not in done_here),
            threads=IO_THREADS,
            name="done",
        )
        if not all(lines_done):
            return  # another run still reads some of its lines
        self._delete_files(fresh)
        self.ledger.save_job(fresh.model_copy(update={"status": "consumed"}))
        crash_point("consumed")

    def _delete_files(self, record: JobRecord) -> None:
        """Delete a job's input file and uploads, but not an upload another live job (which
        reused it by content hash) still needs."""
        if not self.delete_files:
            return
        in_use = {
            name
            for other in self.ledger.live_jobs()
            if other.display_name != record.display_name
            for name in [*other.uploaded_files, *other.shared_files]
        }
        unused = [name for name in record.files() if name not in in_use]
        each_ahead(self._delete_file, unused, threads=UPLOAD_THREADS, name="delete")

    def _delete_file(self, name: str) -> None:
        try:
            self.client.files.delete(name=name)
        except errors.ClientError as error:
            if error.code not in (403, 404):  # 403/404: already gone
                raise
