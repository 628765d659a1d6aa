"""FileDownloadClient: its framing rules, then downloads from the emulator over real HTTP."""

from __future__ import annotations

import random
from typing import cast

import httpx2
import pytest
from google import genai

from chargen_resources.emulator import EmulatorSettings, RunningEmulator
from chargen_resources.emulator.clock import EmulatorClock
from chargen_resources.emulator.file_store import FileStore
from chargen_resources.streaming import GeminiHttpError, GeminiProtocolError, GoogleGenAIApiAdapter
from chargen_resources.streaming.file_download import (
    BodyStart,
    DownloadProgress,
    FileDownloadClient,
    body_start,
    check_continues,
    resume_headers,
    skip_bytes,
)
from chargen_tests.fixtures.emulator import TEST_SETTINGS


def test_resuming_asks_for_the_rest_unencoded() -> None:
    assert resume_headers(0) == {}
    assert resume_headers(10) == {"Range": "bytes=10-", "Accept-Encoding": "identity"}


def test_body_start_reads_content_range_and_length() -> None:
    assert body_start(206, {"content-range": "bytes 5-9/10"}) == BodyStart(5, 10)
    assert body_start(206, {"content-range": "bytes 5-9/*"}) == BodyStart(5, None)
    assert body_start(200, {"content-length": "10"}) == BodyStart(0, 10)
    # a compressed body's length is not the file's
    assert body_start(200, {"content-length": "4", "content-encoding": "gzip"}) == BodyStart(
        0, None
    )
    with pytest.raises(GeminiProtocolError):
        body_start(206, {})


def test_a_restart_drops_what_was_handed_on_and_refuses_a_changed_file() -> None:
    progress = DownloadProgress(delivered=7, size=10)
    assert check_continues(BodyStart(0, 10), progress) == 7  # 200: the whole file again
    assert check_continues(BodyStart(7, 10), progress) == 0  # 206 where we stopped
    with pytest.raises(GeminiProtocolError, match="changed"):
        check_continues(BodyStart(0, 11), progress)
    with pytest.raises(GeminiProtocolError, match="past byte"):
        check_continues(BodyStart(8, 10), progress)


@pytest.mark.parametrize("count", [0, 1, 3, 4, 9, 10])
def test_skip_bytes_across_chunk_boundaries(count: int) -> None:
    chunks = [b"abc", b"", b"def", b"ghij"]
    assert b"".join(skip_bytes(chunks, count)) == b"abcdefghij"[count:]


# ---- against the emulator


@pytest.fixture
def emulator_settings(request: pytest.FixtureRequest) -> EmulatorSettings:
    return cast(EmulatorSettings, getattr(request, "param", TEST_SETTINGS))


def _generated_file(emulator: RunningEmulator, size: int) -> tuple[str, bytes]:
    data = random.Random(size).randbytes(size)
    files = FileStore(emulator.state_dir, EmulatorClock(emulator.state_dir))
    with files.generated_writer("batch-data") as handle:
        handle.write(data)
    files.register_generated("batch-data", "data", "application/jsonl")
    return "files/batch-data", data


def _recording_client() -> tuple[httpx2.Client, list[tuple[int, str | None]]]:
    """An httpx2 client that notes each response's status and the Range asked for it."""
    seen: list[tuple[int, str | None]] = []

    def note(response: httpx2.Response) -> None:
        seen.append((response.status_code, response.request.headers.get("range")))

    return httpx2.Client(event_hooks={"response": [note]}), seen


@pytest.mark.parametrize(
    ("emulator_settings", "status"),
    [(TEST_SETTINGS, 200), (TEST_SETTINGS.model_copy(update={"download_ranges": True}), 206)],
    ids=["range-ignored", "range-honoured"],
    indirect=["emulator_settings"],
)
def test_a_read_from_an_offset_continues_the_file(
    genai_client: genai.Client, emulator: RunningEmulator, status: int
) -> None:
    name, data = _generated_file(emulator, 3 * 1024 * 1024 + 17)
    http, seen = _recording_client()
    download = FileDownloadClient(GoogleGenAIApiAdapter(genai_client), http)
    progress = DownloadProgress(delivered=1_000_003)
    rest = b"".join(download.read(name, progress))
    assert rest == data[1_000_003:] and progress.delivered == len(data)
    assert progress.size == len(data)
    assert seen == [(status, "bytes=1000003-")]


@pytest.mark.parametrize(
    "emulator_settings",
    [TEST_SETTINGS.model_copy(update={"cut_downloads": 1, "cut_download_fraction": 0.5})],
    indirect=True,
)
def test_a_cut_download_raises_a_transport_error_after_handing_on_what_came(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    name, data = _generated_file(emulator, 4 * 1024 * 1024)
    download = FileDownloadClient(GoogleGenAIApiAdapter(genai_client))
    progress = DownloadProgress()
    received = bytearray()
    with pytest.raises(httpx2.TransportError):
        for chunk in download.read(name, progress):
            received += chunk
    assert 0 < progress.delivered == len(received) <= len(data) // 2
    received += b"".join(download.read(name, progress))  # the next read picks up there
    assert bytes(received) == data


def test_missing_files_raise_google_errors(genai_client: genai.Client) -> None:
    download = FileDownloadClient(GoogleGenAIApiAdapter(genai_client))
    with pytest.raises(GeminiHttpError) as missing:
        b"".join(download.read("files/batch-nothing", DownloadProgress()))
    assert missing.value.code == 404


def test_downloads_go_where_and_with_the_key_the_sdk_sends_them(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    name, _ = _generated_file(emulator, 10)
    sent: list[httpx2.Request] = []
    http = httpx2.Client(event_hooks={"request": [sent.append]})
    b"".join(
        FileDownloadClient(GoogleGenAIApiAdapter(genai_client), http).read(name, DownloadProgress())
    )
    (request,) = sent
    assert str(request.url) == f"{emulator.base_url}/v1beta/files/batch-data:download?alt=media"
    assert request.headers["x-goog-api-key"] == "test-key"
    assert "range" not in request.headers  # a first read asks for the whole file
