"""BatchJobRunner and UploadCache against the emulator, over HTTP through the real SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google import genai

from chargen_resources.emulator import EmulatorSettings, RunningEmulator
from chargen_resources.gemini.batch_jobs import (
    BatchJobFailed,
    BatchJobRunner,
    BatchLine,
    PollPolicy,
    iter_file_chunks,
)
from chargen_resources.gemini.connection import ConnectionSettings, connect
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.storage.blob_store import LocalBlobStore

FAST = PollPolicy(initial_interval=0.01, max_interval=0.05, timeout=30)


def _lines(n: int = 3) -> list[BatchLine]:
    return [
        BatchLine(
            key=f"c{i}", request={"contents": [{"role": "user", "parts": [{"text": f"Say {i}"}]}]}
        )
        for i in range(n)
    ]


def _runner(client: genai.Client, tmp_path: Path, log: list[str] | None = None) -> BatchJobRunner:
    messages = log if log is not None else []
    return BatchJobRunner(
        client=client,
        ledger=Ledger(LocalBlobStore(tmp_path / "store"), "chargen"),
        poll=FAST,
        log=messages.append,
    )


def test_a_job_runs_to_its_output_and_a_rerun_reattaches(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    log: list[str] = []
    runner = _runner(genai_client, tmp_path, log)
    (job,) = runner.run(
        stage="analysis", model="gemini-2.5-flash", lines=_lines(), display_name="t"
    )
    assert not job.reattached and job.output_file.startswith("files/batch-")
    output = runner.download_output(job, tmp_path / "out.jsonl")
    lines = [json.loads(line) for line in b"".join(iter_file_chunks(output)).splitlines()]
    assert sorted(line["key"] for line in lines) == ["c0", "c1", "c2"]
    assert any("JOB_STATE_SUCCEEDED, 3/3 done" in message for message in log), log

    (again,) = _runner(genai_client, tmp_path).run(
        stage="analysis", model="gemini-2.5-flash", lines=list(reversed(_lines())), display_name="t"
    )
    assert again.reattached and again.job_name == job.job_name
    assert len(list(genai_client.batches.list())) == 1

    deleted = runner.finish(job)
    assert deleted == [job.record.input_file]
    # Once its results are stored, asking again for the same requests is a new job.
    (fresh,) = _runner(genai_client, tmp_path).run(
        stage="analysis", model="gemini-2.5-flash", lines=_lines(), display_name="t"
    )
    assert not fresh.reattached and fresh.job_name != job.job_name


def test_a_failed_job_names_itself_and_a_rerun_submits_anew(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    with pytest.raises(BatchJobFailed) as failed:
        runner.run(
            stage="image",
            model="gemini-2.5-flash",
            lines=_lines(),
            display_name="[emulator:batch-failed]",
        )
    message = str(failed.value)
    assert failed.value.job_name in message and "JOB_STATE_FAILED" in message and "image" in message
    with pytest.raises(BatchJobFailed):
        runner.run(
            stage="image",
            model="gemini-2.5-flash",
            lines=_lines(),
            display_name="[emulator:batch-failed]",
        )
    assert len(list(genai_client.batches.list())) == 2  # a failed job is not reattached to


def test_expired_jobs_fail_with_their_state(genai_client: genai.Client, tmp_path: Path) -> None:
    with pytest.raises(BatchJobFailed, match="JOB_STATE_EXPIRED"):
        _runner(genai_client, tmp_path).run(
            stage="analysis",
            model="gemini-2.5-flash",
            lines=_lines(1),
            display_name="[emulator:batch-expired]",
        )


def test_output_that_appears_after_success_is_waited_for(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    (job,) = runner.run(
        stage="analysis",
        model="gemini-2.5-flash",
        lines=_lines(1),
        display_name="[emulator:batch-late-output=0.3]",
    )
    output = runner.download_output(job, tmp_path / "late.jsonl")
    assert output.stat().st_size > 0


def test_an_interrupted_submission_is_found_by_display_name(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    runner = _runner(genai_client, tmp_path)
    (job,) = runner.run(
        stage="analysis", model="gemini-2.5-flash", lines=_lines(), display_name="t"
    )
    # Simulate a crash between batches.create and the ledger write that records its name.
    ledger = runner.ledger
    ledger.save_batch(job.record.model_copy(update={"status": "submitting", "job_name": None}))
    (again,) = _runner(genai_client, tmp_path).run(
        stage="analysis", model="gemini-2.5-flash", lines=_lines(), display_name="t"
    )
    assert again.job_name == job.job_name and again.reattached
    assert len(list(genai_client.batches.list())) == 1


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    # The first two calls to generateContent fail with 503: the SDK must retry through them.
    return EmulatorSettings(
        pending_seconds=0,
        running_seconds=0,
        draft_images=0,
        fail_next_requests=2,
        fail_status=503,
        fail_path_contains=":generateContent",
    )


def test_connection_retries_transient_errors(emulator: RunningEmulator) -> None:
    connection = connect(
        ConnectionSettings(base_url=emulator.base_url, retry_initial_delay=0.01, retry_attempts=3)
    )
    assert connection.backend == "custom"
    answer = connection.client.models.generate_content(model="gemini-2.5-flash", contents="hello")
    assert answer.text
