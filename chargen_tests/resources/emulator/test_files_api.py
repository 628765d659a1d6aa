"""Files API through the real SDK: upload, get, list, delete, download, limits, expiry."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import httpx2
import pytest
from google import genai
from google.genai import errors

from chargen_resources.emulator import EmulatorSettings, RunningEmulator
from chargen_resources.emulator.clock import EmulatorClock
from chargen_resources.emulator.file_store import FileStore
from chargen_tests.resources.emulator.helpers import error_of, png_bytes, raw, write_png


def test_upload_returns_file_fields_as_the_service_sends_them(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    path = write_png(tmp_path / "hero.png", (200, 10, 10))
    uploaded = genai_client.files.upload(file=path, config={"display_name": "hero"})
    assert uploaded.name is not None and uploaded.name.startswith("files/")
    assert uploaded.display_name == "hero"
    assert uploaded.mime_type == "image/png"
    assert uploaded.size_bytes == path.stat().st_size
    assert uploaded.sha256_hash and uploaded.state is not None and uploaded.state.name == "ACTIVE"
    assert uploaded.source is not None and uploaded.source.name == "UPLOADED"
    assert uploaded.download_uri is None
    assert uploaded.create_time and uploaded.expiration_time
    assert (uploaded.expiration_time - uploaded.create_time).total_seconds() == pytest.approx(
        48 * 3600
    )
    fetched = genai_client.files.get(name=uploaded.name)
    assert fetched.sha256_hash == uploaded.sha256_hash
    assert genai_client.files.get(name=uploaded.name.removeprefix("files/")).name == uploaded.name


def test_multi_chunk_upload_of_nine_mib_keeps_every_byte(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    payload = bytes(range(256)) * (9 * 1024 * 4)  # 9 MiB: one 8 MiB chunk, then the rest
    uploaded = genai_client.files.upload(
        file=io.BytesIO(payload), config={"mime_type": "application/octet-stream", "name": "big"}
    )
    assert uploaded.name == "files/big" and uploaded.size_bytes == len(payload)
    stored = emulator.state_dir / "files" / "big.bin"
    assert stored.read_bytes() == payload


def test_jsonl_upload_accepts_the_nonstandard_mime_type(genai_client: genai.Client) -> None:
    uploaded = genai_client.files.upload(
        file=io.BytesIO(b'{"key":"a"}\n'), config={"mime_type": "jsonl"}
    )
    assert uploaded.mime_type == "jsonl" and uploaded.size_bytes == 12


def test_empty_file_upload(genai_client: genai.Client) -> None:
    uploaded = genai_client.files.upload(file=io.BytesIO(b""), config={"mime_type": "text/plain"})
    assert uploaded.size_bytes == 0


def test_list_paginates_and_delete_answers_200(genai_client: genai.Client) -> None:
    names = [
        genai_client.files.upload(
            file=io.BytesIO(png_bytes((i * 40, 0, 0))), config={"mime_type": "image/png"}
        ).name
        for i in range(5)
    ]
    pager = genai_client.files.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert sorted(f.name for f in pager if f.name) == sorted(n for n in names if n)
    for name in names:
        assert name is not None
        genai_client.files.delete(name=name)  # the SDK raises on anything but 200
    assert list(genai_client.files.list()) == []
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.get(name=names[0] or "")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"


def test_uploaded_files_cannot_be_downloaded(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    name = genai_client.files.upload(
        file=io.BytesIO(b"abc"), config={"mime_type": "text/plain"}
    ).name
    assert name is not None
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.download(file=name)
    assert caught.value.code == 400
    status, _, body = raw(emulator, "GET", f"/download/v1beta/{name}:download?alt=media")
    assert status == 400 and "only generated files" in error_of(body)["message"]


def test_files_expire_after_48_hours_of_emulator_clock(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    name = genai_client.files.upload(
        file=io.BytesIO(b"abc"), config={"mime_type": "text/plain"}
    ).name
    assert name is not None
    status, _, _ = raw(
        emulator, "POST", "/emulator/clock", json.dumps({"advanceSeconds": 47 * 3600}).encode()
    )
    assert status == 200
    assert genai_client.files.get(name=name).name == name
    raw(emulator, "POST", "/emulator/clock", json.dumps({"advanceSeconds": 3600}).encode())
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.get(name=name)
    assert caught.value.code == 404
    assert list(genai_client.files.list()) == []


def _start_upload(
    emulator: RunningEmulator,
    size: int,
    extra: dict[str, str] | None = None,
    body: dict[str, object] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    headers = {
        "X-Goog-Upload-Protocol": "resumable",
        "X-Goog-Upload-Command": "start",
        "X-Goog-Upload-Header-Content-Length": str(size),
        "X-Goog-Upload-Header-Content-Type": "image/png",
        **(extra or {}),
    }
    return raw(
        emulator,
        "POST",
        "/upload/v1beta/files",
        json.dumps(body or {"file": {"display_name": "x"}}).encode(),
        headers,
    )


def test_two_gb_limit_is_checked_at_upload_start(emulator: RunningEmulator) -> None:
    status, headers, _ = _start_upload(emulator, 2 * 1024**3)
    assert status == 200 and headers["X-Goog-Upload-URL"].startswith(emulator.base_url)
    status, _, body = _start_upload(emulator, 2 * 1024**3 + 1)
    assert status == 400 and "2 GB" in error_of(body)["message"]


def test_upload_chunk_errors_carry_upload_status(emulator: RunningEmulator) -> None:
    _, headers, _ = _start_upload(emulator, 10)
    url = headers["X-Goog-Upload-URL"].removeprefix(emulator.base_url)
    status, chunk_headers, body = raw(
        emulator,
        "POST",
        url,
        b"0123456789ABC",
        {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"},
    )
    assert status == 400 and chunk_headers["X-Goog-Upload-Status"] == "final"
    assert "declared size" in error_of(body)["message"]
    status, chunk_headers, _ = raw(
        emulator,
        "POST",
        url,
        b"01234",
        {"X-Goog-Upload-Command": "upload", "X-Goog-Upload-Offset": "0"},
    )
    assert status == 200 and chunk_headers["X-Goog-Upload-Status"] == "active"
    status, _, body = raw(
        emulator,
        "POST",
        url,
        b"56789",
        {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "3"},
    )
    assert status == 400 and "offset" in error_of(body)["message"]
    status, chunk_headers, body = raw(
        emulator,
        "POST",
        url,
        b"56789",
        {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "5"},
    )
    assert status == 200 and chunk_headers["X-Goog-Upload-Status"] == "final"
    assert json.loads(body)["file"]["sizeBytes"] == "10"


def test_duplicate_and_invalid_names_are_refused(genai_client: genai.Client) -> None:
    genai_client.files.upload(
        file=io.BytesIO(b"a"), config={"mime_type": "text/plain", "name": "dup"}
    )
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.upload(
            file=io.BytesIO(b"a"), config={"mime_type": "text/plain", "name": "dup"}
        )
    assert caught.value.code == 409
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.upload(
            file=io.BytesIO(b"a"), config={"mime_type": "text/plain", "name": "Bad_Name"}
        )
    assert caught.value.code == 400


def test_both_api_versions_serve_files(
    emulator: RunningEmulator, genai_client: genai.Client
) -> None:
    from chargen_tests.fixtures.emulator import client_for

    v1 = client_for(emulator, "v1")
    name = v1.files.upload(file=io.BytesIO(b"hi"), config={"mime_type": "text/plain"}).name
    assert name is not None
    assert genai_client.files.get(name=name).name == name
    status, _, body = raw(emulator, "GET", f"/v1/{name}")
    assert status == 200 and json.loads(body)["sizeBytes"] == "2"


class TestDownloadSettings:
    @pytest.fixture
    def emulator_settings(self) -> EmulatorSettings:
        return EmulatorSettings(
            pending_seconds=0,
            running_seconds=0,
            download_bytes_per_second=2 * 1024 * 1024,
            download_ranges=True,
            cut_downloads=1,
            cut_download_fraction=0.25,
        )

    def test_ranges_pace_and_a_cut(self, emulator: RunningEmulator) -> None:
        files = FileStore(emulator.state_dir, EmulatorClock(emulator.state_dir))
        data = bytes(range(256)) * 4096  # 1 MiB
        with files.generated_writer("batch-x") as handle:
            handle.write(data)
        files.register_generated("batch-x", "x", "application/jsonl")
        url = f"{emulator.base_url}/v1beta/files/batch-x:download?alt=media"
        headers = {"x-goog-api-key": "k"}
        with httpx2.Client() as http:
            with pytest.raises(httpx2.RemoteProtocolError):  # the first download is cut
                http.get(url, headers=headers)
            began = time.monotonic()
            whole = http.get(url, headers=headers)
            elapsed = time.monotonic() - began
            part = http.get(url, headers={**headers, "Range": "bytes=1000-"})
            past = http.get(url, headers={**headers, "Range": f"bytes={len(data)}-"})
        assert whole.status_code == 200 and whole.content == data
        assert elapsed >= 0.45  # 1 MiB at 2 MiB/s, less the first 64 KiB chunk
        assert part.status_code == 206 and part.content == data[1000:]
        assert part.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
        assert past.status_code == 416


def test_range_is_ignored_by_default(genai_client: genai.Client, emulator: RunningEmulator) -> None:
    files = FileStore(emulator.state_dir, EmulatorClock(emulator.state_dir))
    with files.generated_writer("batch-y") as handle:
        handle.write(b"0123456789")
    files.register_generated("batch-y", "y", "application/jsonl")
    answer = httpx2.get(
        f"{emulator.base_url}/v1beta/files/batch-y:download?alt=media",
        headers={"x-goog-api-key": "k", "Range": "bytes=4-"},
    )
    assert answer.status_code == 200 and answer.content == b"0123456789"
