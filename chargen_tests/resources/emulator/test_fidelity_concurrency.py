"""Many clients at once, and two emulator instances sharing one state directory."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from google import genai
from google.genai import types

from chargen_resources.emulator import EmulatorSettings, RunningEmulator, start_emulator
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import wait_done

LINES = 12


def test_threads_upload_and_create_batches_at_once(genai_client: genai.Client) -> None:
    def upload(number: int) -> str:
        data = f"payload {number}\n".encode() * (number + 1)
        uploaded = genai_client.files.upload(
            file=io.BytesIO(data), config={"mime_type": "text/plain"}
        )
        assert uploaded.size_bytes == len(data)
        return str(uploaded.name)

    def create(number: int) -> str:
        job = genai_client.batches.create(
            model="gemini-2.5-flash", src=[types.InlinedRequest(contents=f"job {number}")]
        )
        return str(job.name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        uploads = list(pool.map(upload, range(10)))
        batches = list(pool.map(create, range(6)))
        finished = list(pool.map(lambda name: wait_done(genai_client, name), batches))

    assert len(set(uploads)) == 10 and len(set(batches)) == 6
    assert set(uploads) <= {f.name for f in genai_client.files.list(config={"page_size": 100})}
    assert {job.name for job in genai_client.batches.list()} == set(batches)
    assert all(
        job.state is not None and job.state.name == "JOB_STATE_SUCCEEDED" for job in finished
    )


@pytest.fixture
def twin_emulators(tmp_path: Path) -> Iterator[tuple[RunningEmulator, RunningEmulator]]:
    state = tmp_path / "shared-state"
    settings = EmulatorSettings(pending_seconds=0.2, running_seconds=0.2, draft_images=0)
    with start_emulator(state, settings) as first, start_emulator(state, settings) as second:
        yield first, second


def test_two_instances_share_files_and_process_a_batch_exactly_once(
    twin_emulators: tuple[RunningEmulator, RunningEmulator],
) -> None:
    first, second = (client_for(running) for running in twin_emulators)
    lines = "".join(
        json.dumps({"key": f"k{n}", "request": {"contents": [{"parts": [{"text": f"hero {n}"}]}]}})
        + "\n"
        for n in range(LINES)
    )
    source = first.files.upload(file=io.BytesIO(lines.encode()), config={"mime_type": "jsonl"})
    assert second.files.get(name=str(source.name)).sha256_hash == source.sha256_hash
    job = first.batches.create(model="gemini-2.5-flash", src=str(source.name))
    assert second.batches.get(name=str(job.name)).state == job.state

    # Both instances poll at the same time; whoever sees the job due first does the work.
    with ThreadPoolExecutor(max_workers=4) as pool:
        views = list(pool.map(lambda c: wait_done(c, str(job.name)), [first, second] * 2))
    assert {view.end_time for view in views} == {views[0].end_time}
    assert {view.dest.file_name for view in views if view.dest} == {
        views[0].dest.file_name if views[0].dest else None
    }
    output_name = str(views[0].dest.file_name if views[0].dest else "")
    from_first, from_second = first.files.get(name=output_name), second.files.get(name=output_name)
    assert from_first.create_time == from_second.create_time  # written once, never rewritten
    assert from_first.sha256_hash == from_second.sha256_hash
    body = second.files.download(file=output_name).decode()
    keys = [json.loads(line)["key"] for line in body.splitlines()]
    assert sorted(keys) == sorted(f"k{n}" for n in range(LINES))  # one line per input line
    assert first.files.get(name=output_name).create_time == from_first.create_time

    second.batches.delete(name=str(job.name))
    assert str(job.name) not in {j.name for j in first.batches.list()}
