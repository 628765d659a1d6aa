"""The batch runner: its pure parts, then claims, jobs and downloads against the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx2
import pytest
from google import genai
from google.genai import errors as genai_errors

from chargen_resources.emulator import EmulatorSettings, start_emulator
from chargen_resources.emulator.embedded import RunningEmulator
from chargen_resources.gemini.batch_jobs import (
    BatchJobRunner,
    BatchLine,
    BatchOutputUnavailable,
    Carriage,
    PollPolicy,
    Prepared,
    ProgressReport,
    _download_verdict,
    batch_counts,
    split_by_size,
)
from chargen_resources.gemini.connection import ConnectionSettings, http_options
from chargen_resources.gemini.ledger import Claim, Claimant, JobRecord, Ledger, fingerprint
from chargen_resources.storage.blob_store import LocalBlobStore, S3BlobStore
from chargen_resources.streaming import GeminiHttpError, GeminiProtocolError
from chargen_tests.fixtures.emulator import client_for

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FAST = PollPolicy(initial_interval=0.01, max_interval=0.05, timeout=30)
MODEL = "gemini-2.5-flash"


def test_lines_are_grouped_under_the_input_limit_in_order() -> None:
    sizes = [(str(i), 100) for i in range(10)]
    groups = split_by_size(sizes, 400)
    assert [len(g) for g in groups] == [4, 4, 2]
    assert [key for group in groups for key in group] == [str(i) for i in range(10)]


def test_everything_fits_in_one_job_normally() -> None:
    assert len(split_by_size([(str(i), 10) for i in range(100)], 2 * 1024**3)) == 1


def test_a_line_over_the_limit_is_named() -> None:
    with pytest.raises(ValueError, match="'big'"):
        split_by_size([("big", 1000)], 100)


def test_batch_counts_read_int64_strings_and_tolerate_absence() -> None:
    raw = {
        "metadata": {
            "batchStats": {
                "requestCount": "5",
                "successfulRequestCount": "3",
                "failedRequestCount": "1",
            }
        }
    }
    assert batch_counts(raw) == (3, 1)
    assert batch_counts({}) == (None, None)


def test_progress_lines_say_state_done_total_and_elapsed() -> None:
    line = str(ProgressReport("character_image", "batches/x", "JOB_STATE_RUNNING", 5, 12.4, 3, 1))
    assert (
        line
        == "character_image batch batches/x: JOB_STATE_RUNNING, 3/5 done, 1 failed, 12s elapsed"
    )


# ---- the runner against the emulator, over HTTP through the real SDK


def _requests(n: int = 3, marker: str = "") -> dict[str, dict[str, Any]]:
    return {
        f"c{i}": {"contents": [{"role": "user", "parts": [{"text": f"Say {i}{marker}"}]}]}
        for i in range(n)
    }


def _runner(client: genai.Client, store_root: Path, log: list[str] | None = None) -> BatchJobRunner:
    messages = log if log is not None else []
    return BatchJobRunner(
        client=client,
        ledger=Ledger(LocalBlobStore(store_root), "chargen"),
        poll=FAST,
        log=messages.append,
    )


def _read_all(runner: BatchJobRunner, carriage: Carriage) -> dict[str, str]:
    """Every character's output line key, read from the jobs that carry it."""
    keys: dict[str, str] = {}
    for job in runner.wait(carriage):
        for raw in b"".join(runner.output_chunks(job)).splitlines():
            line = json.loads(raw)
            for character in job.wanted.get(line["key"], []):
                keys[character] = line["key"]
    return keys


def test_a_second_runner_attaches_to_the_job_of_the_first_and_settling_cleans_up(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    log: list[str] = []
    first = _runner(genai_client, tmp_path)
    carriage = first.claim(stage="analysis", model=MODEL, requests=_requests(), display_name="t")
    assert len(carriage.owned_jobs) == 1 and not carriage.attached
    second = _runner(genai_client, tmp_path, log)
    more = second.claim(stage="analysis", model=MODEL, requests=_requests(4), display_name="t")
    assert set(more.attached) == {fp for fp in carriage.characters_of}  # c0..c2: attached
    assert len(more.owned_jobs) == 1  # c3 alone is new
    assert sorted(_read_all(second, more)) == ["c0", "c1", "c2", "c3"]
    assert any("JOB_STATE_SUCCEEDED, 3/3 done" in message for message in log), log
    assert any("already carried by" in message for message in log), log
    finished = first.wait(carriage)
    assert len(list(genai_client.batches.list())) == 2
    first.settle("analysis", finished, {})
    (record,) = [first.ledger.find_job(name) for name in carriage.owned_jobs]
    assert record is not None and record.status == "consumed"
    names = [f.name for f in genai_client.files.list()]
    assert record.input_file not in names  # deleted once every line was done


class _MeetingStore(LocalBlobStore):
    """A store whose claim and done-mark writes each wait until `together` of them are being
    written at once: a runner that wrote them one at a time would break the barrier."""

    def __init__(self, root: Path, together: int) -> None:
        super().__init__(root)
        self.claims = threading.Barrier(together, timeout=30)
        self.marks = threading.Barrier(together, timeout=30)

    def create_new(self, key: str, data: bytes, content_type: str = "") -> bool:
        if "/claims/" in key:
            self.claims.wait()
        return super().create_new(key, data, content_type)

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        if "/claims/" in key and key.endswith("-done.json"):
            self.marks.wait()
        super().put_bytes(key, data, content_type)


def test_claims_and_done_marks_are_written_several_at_once(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    store = _MeetingStore(tmp_path, together=4)
    runner = BatchJobRunner(client=genai_client, ledger=Ledger(store, "chargen"), poll=FAST)
    carriage = runner.claim(stage="analysis", model=MODEL, requests=_requests(4), display_name="t")
    assert len(carriage.paid_here) == 4 and len(carriage.owned_jobs) == 1
    finished = runner.wait(carriage)
    runner.settle("analysis", finished, {})
    (record,) = [runner.ledger.find_job(name) for name in carriage.owned_jobs]
    assert record is not None and record.status == "consumed"


class _DoneMarkReadsCounted(LocalBlobStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.done_marks_read = 0

    def get_bytes(self, key: str) -> bytes:
        self.done_marks_read += key.endswith("-done.json")
        return super().get_bytes(key)

    def exists(self, key: str) -> bool:
        self.done_marks_read += key.endswith("-done.json")
        return super().exists(key)


def test_settling_does_not_read_back_the_done_marks_it_just_wrote(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    store = _DoneMarkReadsCounted(tmp_path)
    runner = BatchJobRunner(client=genai_client, ledger=Ledger(store, "chargen"), poll=FAST)
    carriage = runner.claim(stage="analysis", model=MODEL, requests=_requests(5), display_name="t")
    runner.settle("analysis", runner.wait(carriage), {})
    (record,) = [runner.ledger.find_job(name) for name in carriage.owned_jobs]
    assert record is not None and record.status == "consumed"
    assert store.done_marks_read == 0  # a round trip each on S3


def test_a_stored_request_is_kept_or_read_again_and_regenerate_sends_it_anew(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    carriage = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    runner.settle("image", runner.wait(carriage), {})
    kept = runner.claim(
        stage="image",
        model=MODEL,
        requests=_requests(1),
        display_name="t",
        ours_stored=lambda c: True,
    )
    assert kept.kept == {"c0"} and not kept.owned_jobs
    reread = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    assert _read_all(runner, reread) == {"c0": "c0"} and not reread.owned_jobs
    again = runner.claim(
        stage="image", model=MODEL, requests=_requests(1), display_name="t", regenerate=True
    )
    assert len(again.owned_jobs) == 1 and len(list(genai_client.batches.list())) == 2


@pytest.mark.parametrize("outcome", ["failed", "expired"])
def test_a_job_that_ends_without_results_fails_its_characters_and_is_taken_over(
    genai_client: genai.Client, tmp_path: Path, outcome: str
) -> None:
    runner = _runner(genai_client, tmp_path)
    doomed = runner.claim(
        stage="image", model=MODEL, requests=_requests(), display_name=f"[emulator:batch-{outcome}]"
    )
    assert runner.wait(doomed) == []
    assert set(doomed.failed) == {"c0", "c1", "c2"}
    message = doomed.failed["c0"]
    assert f"JOB_STATE_{outcome.upper()}" in message and "Re-running" in message
    assert [f.name for f in genai_client.files.list()] == []  # its input file is gone
    retry = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
    assert len(retry.owned_jobs) == 1 and not retry.attached
    assert sorted(_read_all(runner, retry)) == ["c0", "c1", "c2"]


def test_output_that_appears_after_success_is_waited_for(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    carriage = runner.claim(
        stage="image",
        model=MODEL,
        requests=_requests(1),
        display_name="[emulator:batch-late-output=0.3]",
    )
    assert _read_all(runner, carriage) == {"c0": "c0"}


def test_a_job_created_by_a_process_that_died_before_recording_it_is_found_and_attached(
    genai_client: genai.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = Claimant.this_process().model_copy(update={"pid": _dead_pid()})
    with monkeypatch.context() as patch:  # claims and job record made in the dead one's name
        patch.setattr(Claimant, "this_process", classmethod(lambda cls, run_id=None: dead))
        runner = _runner(genai_client, tmp_path)
        carriage = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
    (name,) = carriage.owned_jobs
    record = runner.ledger.find_job(name)
    assert record is not None
    # As if it died between batches.create and the ledger write of the job's name.
    runner.ledger.save_job(record.model_copy(update={"job_name": None, "status": "submitting"}))
    again = _runner(genai_client, tmp_path).claim(
        stage="image", model=MODEL, requests=_requests(), display_name="t"
    )
    assert len(again.attached) == 3 and not again.owned_jobs
    assert len(list(genai_client.batches.list())) == 1


def test_a_claim_whose_claimant_died_before_creating_its_job_is_taken_over(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    ledger = Ledger(LocalBlobStore(tmp_path), "chargen")
    dead = Claimant.this_process().model_copy(update={"pid": _dead_pid()})
    fp = _claimed_without_a_job(ledger, "t-dead", dead)
    runner = _runner(genai_client, tmp_path)
    carriage = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    assert len(carriage.owned_jobs) == 1
    current = ledger.current_claim("image", fp)
    assert current is not None and current.generation == 1
    assert ledger.find_job("t-dead") is None  # the dead attempt's record is gone


@pytest.mark.parametrize("run_ended", [True, False])
def test_a_claim_from_a_pod_whose_run_ended_is_taken_over_without_waiting_out_its_lease(
    genai_client: genai.Client, tmp_path: Path, run_ended: bool
) -> None:
    """A run worker in another pod or container claimed c0 and died before creating its job:
    no pid here can say so, its Dagster run's end does. Until then its lease is waited out."""
    ledger = Ledger(LocalBlobStore(tmp_path), "chargen")
    pod = Claimant(host="chargen-run-7f3a-xk2p9", pid=1, process_start="9", run_id="dead-run")
    fp = _claimed_without_a_job(ledger, "t-pod", pod)
    asked: list[str] = []

    def run_over(run_id: str) -> bool:
        asked.append(run_id)
        return run_ended

    runner = BatchJobRunner(
        client=genai_client,
        ledger=ledger,
        poll=PollPolicy(initial_interval=0.01, max_interval=0.05, timeout=30, claim_wait=0.1),
        log=lambda _: None,
        run_id="retry-run",
        run_over=run_over,
    )
    carriage = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    assert "dead-run" in asked
    current = ledger.current_claim("image", fp)
    assert current is not None
    if run_ended:
        assert len(carriage.owned_jobs) == 1 and not carriage.failed
        assert current.generation == 1 and current.claimant.run_id == "retry-run"
        assert ledger.find_job("t-pod") is None
    else:  # its lease (an hour here) is still running: the character waits, then fails
        assert "another run claimed this request" in carriage.failed["c0"]
        assert current.generation == 0 and list(genai_client.batches.list()) == []


def test_a_claim_that_stays_unsubmitted_fails_its_character_with_advice(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    ledger = Ledger(LocalBlobStore(tmp_path), "chargen")
    alive = Claimant.this_process()  # alive: it is us, pretending to be another run
    _claimed_without_a_job(ledger, "t-slow", alive)
    runner = BatchJobRunner(
        client=genai_client,
        ledger=ledger,
        poll=PollPolicy(
            initial_interval=0.01, max_interval=0.05, timeout=30, claim_lease=0.05, claim_wait=0.1
        ),
        log=lambda _: None,
    )
    carriage = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    assert "another run claimed this request" in carriage.failed["c0"]
    assert list(genai_client.batches.list()) == []


def _claimed_without_a_job(ledger: Ledger, carrier: str, claimant: Claimant) -> str:
    """c0's image request, claimed by `claimant` for a job it has not created; its fingerprint."""
    ledger.save_job(JobRecord(display_name=carrier, stage="image", model=MODEL, claimant=claimant))
    fp = fingerprint(MODEL, {"key": "c0", "request": _requests(1)["c0"]})
    claim = Claim(
        stage="image",
        fingerprint=fp,
        generation=0,
        carrier=carrier,
        line_key="c0",
        claimant=claimant,
        lease_until=datetime.now(UTC) + timedelta(hours=1),
    )
    assert ledger.try_claim(claim)
    return fp


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _two_503s(path_contains: str) -> EmulatorSettings:
    """An emulator whose next two calls to paths containing `path_contains` answer 503."""
    return EmulatorSettings(
        pending_seconds=0,
        running_seconds=0,
        draft_images=0,
        fail_next_requests=2,
        fail_status=503,
        fail_path_contains=path_contains,
    )


class TestDownloadFaults:
    @pytest.fixture
    def emulator_settings(self) -> EmulatorSettings:
        return _two_503s(":download")  # the first two downloads of anything

    def test_downloads_are_retried_through_transient_errors(
        self, genai_client: genai.Client, tmp_path: Path
    ) -> None:
        log: list[str] = []
        runner = _runner(genai_client, tmp_path, log)
        carriage = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
        assert sorted(_read_all(runner, carriage)) == ["c0", "c1", "c2"]
        assert sum("retry" in message for message in log) == 2, log

    def test_a_download_that_keeps_failing_names_the_job_and_what_to_do(
        self, genai_client: genai.Client, tmp_path: Path
    ) -> None:
        runner = BatchJobRunner(
            client=genai_client,
            ledger=Ledger(LocalBlobStore(tmp_path), "chargen"),
            poll=PollPolicy(initial_interval=0.01, max_interval=0.05, download_attempts=2),
            log=lambda _: None,
        )
        carriage = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
        (job,) = runner.wait(carriage)
        with pytest.raises(BatchOutputUnavailable) as failed:
            b"".join(runner.output_chunks(job))
        message = str(failed.value)
        assert job.job_name in message and "503" in message and "without paying" in message


def test_a_create_whose_answer_is_lost_is_found_by_its_name_and_not_sent_again(
    genai_client: genai.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The create reached the service, its answer did not reach us (a timeout): sending it
    again would pay twice; the runner finds the job it made by its display name instead."""
    create = genai_client.batches.create
    sent: list[str] = []

    def answer_lost(**kwargs: Any) -> Any:
        sent.append(kwargs["config"].display_name)
        create(**kwargs)
        raise httpx2.ReadTimeout("the answer was lost on the way back")

    monkeypatch.setattr(genai_client.batches, "create", answer_lost)
    runner = _runner(genai_client, tmp_path)
    carriage = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
    (carrier,) = carriage.owned_jobs
    (job,) = list(genai_client.batches.list())
    record = runner.ledger.find_job(carrier)
    assert record is not None and record.job_name == job.name and record.status == "submitted"
    assert sent == [carrier]  # sent once
    assert sorted(_read_all(runner, carriage)) == ["c0", "c1", "c2"]


class TestPolling:
    @pytest.fixture
    def emulator_settings(self) -> EmulatorSettings:
        return EmulatorSettings(pending_seconds=3600, running_seconds=0, draft_images=0)

    def test_polling_backs_off_to_a_minute_and_a_job_past_the_timeout_fails_with_advice(
        self, genai_client: genai.Client, tmp_path: Path
    ) -> None:
        now = [0.0]
        slept: list[float] = []

        def sleep(seconds: float) -> None:  # the runner's clock moves by what it sleeps
            slept.append(seconds)
            now[0] += seconds

        runner = BatchJobRunner(
            client=genai_client,
            ledger=Ledger(LocalBlobStore(tmp_path), "chargen"),
            poll=PollPolicy(timeout=600),  # the default intervals: 5 s, growing by half to 60 s
            log=lambda _: None,
            sleep=sleep,
            clock=lambda: now[0],
        )
        carriage = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
        assert runner.wait(carriage) == []
        assert slept[:7] == [5.0, 7.5, 11.25, 16.875, 25.3125, 37.96875, 56.953125]
        assert slept[7:] and set(slept[7:]) == {60.0}
        assert 600 <= sum(slept) < 660
        assert set(carriage.failed) == {"c0", "c1", "c2"}
        reason = carriage.failed["c0"]
        assert "still JOB_STATE_PENDING" in reason and "attaches to it" in reason


class TestRefusedCreate:
    @pytest.fixture
    def emulator_settings(self) -> EmulatorSettings:
        # Two creates in a row are refused: a runner that retried would get its job made.
        return _two_503s(":batchGenerateContent")

    def test_a_refused_create_is_not_retried_blindly_and_leaves_no_job_or_files(
        self, emulator: RunningEmulator, tmp_path: Path
    ) -> None:
        # The client chargen builds, which retries a 503 elsewhere (uploads, polls).
        retrying = ConnectionSettings(api_key="test-key", retry_initial_delay=0.01)
        client = genai.Client(
            api_key="test-key", http_options=http_options(retrying, emulator.base_url)
        )
        runner = _runner(client, tmp_path)
        with pytest.raises(genai_errors.ServerError):
            runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
        assert list(client.batches.list()) == []
        assert list(client.files.list()) == []  # its input file was deleted


def test_two_runners_racing_on_s3_send_each_request_once(
    genai_client: genai.Client, s3_client: S3Client, s3_bucket: str
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    everything = _requests(10)
    first = {k: v for k, v in everything.items() if int(k[1:]) < 6}  # c0..c5
    second = {k: v for k, v in everything.items() if int(k[1:]) >= 3}  # c3..c9
    runners = [
        BatchJobRunner(
            client=genai_client,
            ledger=Ledger(S3BlobStore(s3_client, s3_bucket), "chargen"),
            poll=FAST,
            log=lambda _: None,
        )
        for _ in range(2)
    ]

    def claim(index: int) -> Carriage:
        requests = (first, second)[index]
        return runners[index].claim(stage="image", model=MODEL, requests=requests, display_name="t")

    with ThreadPoolExecutor(2) as pool:
        carriages = list(pool.map(claim, range(2)))
    sent = [
        line
        for runner, carriage in zip(runners, carriages, strict=True)
        for name in carriage.owned_jobs
        for line in (runner.ledger.find_job(name) or _missing(name)).lines
    ]
    assert sorted(sent) == sorted(everything)  # the union, each once
    read = [
        _read_all(runner, carriage) for runner, carriage in zip(runners, carriages, strict=True)
    ]
    assert set(read[0]) == set(first) and set(read[1]) == set(second)


def _missing(name: str) -> JobRecord:
    raise AssertionError(f"no job record for {name}")


def test_an_owner_past_its_lease_yields_to_the_run_that_took_its_claims_over(
    genai_client: genai.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Claimant.this_process
    elsewhere = real().model_copy(update={"host": "pod-a"})  # seen from here: lease only
    runners: list[BatchJobRunner] = []
    taken: list[Carriage] = []

    def slow_prepare(keys: Sequence[str]) -> Prepared:
        """While pod A still prepares (its lease already over), pod B takes its claims over."""
        with monkeypatch.context() as patch:
            patch.setattr(Claimant, "this_process", real)
            taken.append(
                runners[1].claim(stage="image", model=MODEL, requests=_requests(), display_name="b")
            )
        return Prepared([BatchLine(key, _requests()[key]) for key in keys])

    lapsed = PollPolicy(initial_interval=0.01, max_interval=0.05, timeout=30, claim_lease=0)
    runners.append(
        BatchJobRunner(
            genai_client,
            Ledger(LocalBlobStore(tmp_path), "chargen"),
            poll=lapsed,
            log=lambda _: None,
        )
    )
    runners.append(_runner(genai_client, tmp_path))
    monkeypatch.setattr(Claimant, "this_process", classmethod(lambda cls, run_id=None: elsewhere))
    first = runners[0].claim(
        stage="image", model=MODEL, requests=_requests(), display_name="a", prepare=slow_prepare
    )
    (second,) = taken
    assert len(second.owned_jobs) == 1  # B sent them
    assert not first.owned_jobs and len(first.attached) == 3  # A created nothing, attached to B
    assert len(list(genai_client.batches.list())) == 1
    assert sorted(_read_all(runners[0], first)) == ["c0", "c1", "c2"]


def test_a_run_whose_job_a_sweep_abandoned_mid_upload_sends_its_requests_itself(
    genai_client: genai.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run B's sweep took run A for gone (Dagster said its run had ended) while A uploaded, and
    abandoned A's job: A must not create it, and must not wait out its own lease either. Nobody
    else needs these requests, so A takes its own claims over at once and sends them."""
    real = Claimant.this_process
    pod_a = real("run-a").model_copy(update={"host": "pod-a"})
    ledger = Ledger(LocalBlobStore(tmp_path), "chargen")
    sweeper = BatchJobRunner(
        genai_client, ledger, poll=FAST, log=lambda _: None, run_id="run-b", run_over=lambda r: True
    )

    swept: list[bool] = []

    def prepare_while_swept(keys: Sequence[str]) -> Prepared:
        if not swept:  # once: B's sweep has happened; A's second upload is left alone
            with monkeypatch.context() as patch:
                patch.setattr(Claimant, "this_process", real)
                sweeper.sweep("image", {})
            swept.append(True)
        return Prepared([BatchLine(key, _requests()[key]) for key in keys])

    log: list[str] = []
    run_a = BatchJobRunner(
        genai_client,
        ledger,
        poll=PollPolicy(initial_interval=0.01, max_interval=0.05, timeout=30, claim_wait=5),
        log=log.append,
        run_id="run-a",
        run_over=lambda r: False,
    )
    monkeypatch.setattr(Claimant, "this_process", classmethod(lambda cls, run_id=None: pod_a))
    carriage = run_a.claim(
        stage="image",
        model=MODEL,
        requests=_requests(),
        display_name="a",
        prepare=prepare_while_swept,
    )
    assert any("was taken over by another run" in message for message in log), log
    assert not carriage.failed and not carriage.attached and len(carriage.owned_jobs) == 1
    assert len(list(genai_client.batches.list())) == 1
    for fp in carriage.characters_of:
        current = ledger.current_claim("image", fp)
        assert current is not None and current.generation == 1


def test_a_retry_of_a_regenerating_run_does_not_regenerate_again(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    runner.settle(
        "image",
        runner.wait(
            runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
        ),
        {},
    )
    logical_run_began = datetime.now(UTC)
    first = runner.claim(
        stage="image",
        model=MODEL,
        requests=_requests(1),
        display_name="t",
        regenerate=True,
        regenerate_since=logical_run_began,
    )
    runner.settle("image", runner.wait(first), {})  # then the run is killed, and retried
    retry = runner.claim(
        stage="image",
        model=MODEL,
        requests=_requests(1),
        display_name="t",
        regenerate=True,
        regenerate_since=logical_run_began,
        ours_stored=lambda character: True,
    )
    assert retry.kept == {"c0"} and not retry.owned_jobs
    assert len(list(genai_client.batches.list())) == 2  # the first run, and one regeneration


def test_a_job_whose_output_is_gone_is_sent_again_by_the_next_run(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    carriage = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    (job,) = runner.wait(carriage)
    genai_client.files.delete(name=job.output_file)
    fast = BatchJobRunner(
        genai_client,
        runner.ledger,
        poll=PollPolicy(initial_interval=0.01, max_interval=0.05, download_attempts=2),
        log=lambda _: None,
    )
    with pytest.raises(BatchOutputUnavailable) as missing:
        b"".join(fast.output_chunks(job, patience=0.05))
    assert missing.value.gone
    fast.output_lost(job)
    again = runner.claim(stage="image", model=MODEL, requests=_requests(1), display_name="t")
    assert len(again.owned_jobs) == 1 and not again.attached


@pytest.mark.parametrize(
    ("error", "delivered", "patient", "failures", "verdict"),
    [
        (GeminiHttpError(404, "NOT_FOUND", "x"), 0, True, 0, "not-yet"),
        (GeminiHttpError(404, "NOT_FOUND", "x"), 0, False, 0, "gone"),
        (GeminiHttpError(404, "NOT_FOUND", "x"), 10, True, 0, "gone"),  # deleted mid-read
        (GeminiHttpError(403, "PERMISSION_DENIED", "x"), 0, True, 0, "gone"),
        (GeminiHttpError(503, "UNAVAILABLE", "x"), 10, True, 0, "retry"),
        (GeminiHttpError(429, "RESOURCE_EXHAUSTED", "x"), 0, True, 5, "fail"),  # out of tries
        (httpx2.RemoteProtocolError("cut"), 10, True, 0, "retry"),
        (httpx2.ReadTimeout("stalled"), 10, True, 0, "retry"),
        (GeminiProtocolError("the file changed"), 10, True, 0, "fail"),
    ],
)
def test_download_verdicts(
    error: Exception, delivered: int, patient: bool, failures: int, verdict: str
) -> None:
    assert _download_verdict(error, delivered, patient, failures, PollPolicy()) == verdict


@pytest.mark.parametrize("ranges", [False, True], ids=["restart", "range"])
def test_a_cut_download_continues_at_the_byte_it_stopped(tmp_path: Path, ranges: bool) -> None:
    settings = EmulatorSettings(
        pending_seconds=0, running_seconds=0, cut_downloads=2, download_ranges=ranges
    )
    with start_emulator(tmp_path / "emulator", settings) as emulator:
        client = client_for(emulator)
        log: list[str] = []
        runner = _runner(client, tmp_path / "store", log)
        carriage = runner.claim(stage="image", model=MODEL, requests=_requests(), display_name="t")
        (job,) = runner.wait(carriage)
        streamed = b"".join(runner.output_chunks(job))
        whole = client.files.download(file=job.output_file)  # a third download: not cut
    assert streamed == whole
    retries = [message for message in log if "failed at byte" in message]
    assert len(retries) == 2, log
    first, second = (int(m.split("failed at byte ")[1].split()[0]) for m in retries)
    if ranges:  # the second attempt started where the first stopped: progress resets the count
        assert 0 < first < second < len(whole) and "retry 1 of 5" in retries[1]
    else:  # the whole file again, cut at the same place: no progress, a second failure
        assert 0 < first == second and "retry 2 of 5" in retries[1]
