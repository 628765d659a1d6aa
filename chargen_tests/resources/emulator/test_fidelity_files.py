"""Files API as the public docs and SDK 3.4.0 describe it, driven only through the real SDK."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types

from chargen_resources.emulator import RunningEmulator
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import raw, wait_done, write_jsonl, write_png


def _sha256_base64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _generated_output(client: genai.Client) -> str:
    """Run a one-line file batch and return its output file name (files/batch-...)."""
    source = client.files.upload(
        file=io.BytesIO(
            b'{"key": "only", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}\n'
        ),
        config={"mime_type": "jsonl"},
    )
    assert source.name is not None
    job = client.batches.create(model="gemini-2.5-flash", src=source.name)
    assert job.name is not None
    done = wait_done(client, job.name)
    assert done.dest is not None and done.dest.file_name is not None
    return done.dest.file_name


def test_upload_from_path_and_from_bytesio_gives_service_fields(
    genai_client: genai.Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    png = write_png(tmp_path / "hero.png", (10, 200, 30))
    from_path = genai_client.files.upload(file=png)
    payload = b"plain notes\n" * 3
    from_bytes = genai_client.files.upload(
        file=io.BytesIO(payload),
        config=types.UploadFileConfig(
            mime_type="text/plain", display_name="My notes", name="my-notes-1"
        ),
    )

    assert from_path.mime_type == "image/png"  # guessed from the file name by the SDK
    assert from_path.size_bytes == png.stat().st_size
    assert from_path.sha256_hash == _sha256_base64(png.read_bytes())
    assert from_bytes.name == "files/my-notes-1"
    assert from_bytes.display_name == "My notes"
    assert from_bytes.mime_type == "text/plain"
    assert from_bytes.size_bytes == len(payload)
    assert from_bytes.sha256_hash == _sha256_base64(payload)
    for uploaded in (from_path, from_bytes):
        assert uploaded.state == types.FileState.ACTIVE
        assert uploaded.source == types.FileSource.UPLOADED
        assert uploaded.download_uri is None
        assert uploaded.create_time is not None and uploaded.expiration_time is not None
        assert uploaded.expiration_time - uploaded.create_time == timedelta(hours=48)
        assert uploaded.uri is not None and uploaded.uri.endswith(str(uploaded.name))

    status, _, body = raw(emulator, "GET", "/v1beta/files/my-notes-1")
    wire = json.loads(body)
    assert status == 200
    assert wire["sizeBytes"] == str(len(payload))  # int64 travels as a string
    assert wire["state"] == "ACTIVE" and wire["source"] == "UPLOADED"


def test_get_accepts_both_name_forms(genai_client: genai.Client) -> None:
    uploaded = genai_client.files.upload(
        file=io.BytesIO(b"x"), config={"mime_type": "text/plain", "name": "twoforms"}
    )
    by_prefixed = genai_client.files.get(name="files/twoforms")
    by_bare = genai_client.files.get(name="twoforms")
    by_object_name = genai_client.files.get(name=str(uploaded.name))
    assert by_prefixed.name == by_bare.name == by_object_name.name == "files/twoforms"
    assert by_bare.sha256_hash == uploaded.sha256_hash


def test_list_pages_default_to_ten_and_cap_at_one_hundred(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    names = {
        genai_client.files.upload(
            file=io.BytesIO(f"file {n}".encode()), config={"mime_type": "text/plain"}
        ).name
        for n in range(12)
    }
    pager = genai_client.files.list()
    assert len(pager.page) == 10  # the documented default page size
    assert {f.name for f in pager} == names  # the pager follows nextPageToken to the end

    small = genai_client.files.list(config={"page_size": 5})
    assert len(small.page) == 5
    assert len(list(small)) == 12

    status, _, body = raw(emulator, "GET", "/v1beta/files?pageSize=1000")
    listed = json.loads(body)
    assert status == 200
    assert len(listed["files"]) == 12 and "nextPageToken" not in listed


def test_delete_then_get_is_a_404_with_googles_error_body(genai_client: genai.Client) -> None:
    uploaded = genai_client.files.upload(
        file=io.BytesIO(b"bye"), config={"mime_type": "text/plain"}
    )
    assert uploaded.name is not None
    genai_client.files.delete(name=uploaded.name)

    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.get(name=uploaded.name)
    assert caught.value.code == 404
    assert caught.value.status == "NOT_FOUND"
    assert caught.value.message and uploaded.name in caught.value.message
    assert set(caught.value.details["error"]) >= {"code", "message", "status"}
    with pytest.raises(errors.ClientError) as again:
        genai_client.files.delete(name=uploaded.name)
    assert again.value.code == 404
    assert uploaded.name not in {f.name for f in genai_client.files.list()}


def test_generated_batch_output_downloads_by_object_and_by_name_on_both_versions(
    emulator: RunningEmulator,
) -> None:
    v1, v1beta = client_for(emulator, "v1"), client_for(emulator, "v1beta")
    output_name = _generated_output(v1)
    output = v1.files.get(name=output_name)
    assert output.source == types.FileSource.GENERATED
    assert output.download_uri is not None and output.state == types.FileState.ACTIVE
    assert output.size_bytes is not None and output.size_bytes > 0

    expected = v1.files.download(file=output)
    assert len(expected) == output.size_bytes
    assert output.sha256_hash == _sha256_base64(expected)
    assert v1beta.files.download(file=output) == expected
    assert v1.files.download(file=output_name) == expected
    assert v1beta.files.download(file=output_name.removeprefix("files/")) == expected
    for path in (
        f"/v1/{output_name}:download?alt=media",
        f"/download/v1beta/{output_name}:download?alt=media",
        f"/download/v1/{output_name}:download?alt=media",
    ):
        status, _, body = raw(emulator, "GET", path)
        assert (status, body) == (200, expected), path


def test_download_to_a_destination_streams_the_bytes(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    output_name = _generated_output(genai_client)
    target = tmp_path / "results.jsonl"
    assert genai_client.files.download(file=output_name, destination=target) is None
    line = json.loads(target.read_text().splitlines()[0])
    assert line["key"] == "only" and "response" in line


def test_uploaded_files_refuse_download(genai_client: genai.Client) -> None:
    uploaded = genai_client.files.upload(
        file=io.BytesIO(b"secret"), config={"mime_type": "text/plain"}
    )
    assert uploaded.name is not None
    with pytest.raises(ValueError):  # the SDK refuses a File without downloadUri itself
        genai_client.files.download(file=uploaded)
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.download(file=uploaded.name)
    assert caught.value.code == 400


def test_async_client_uploads_lists_downloads_and_deletes(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    output_name = _generated_output(genai_client)
    jsonl = write_jsonl(tmp_path / "in.jsonl", [{"key": "a", "request": {"contents": []}}])

    async def flow() -> tuple[types.File, types.File, list[str], bytes]:
        uploaded = await genai_client.aio.files.upload(
            file=jsonl, config={"mime_type": "jsonl", "display_name": "async"}
        )
        assert uploaded.name is not None
        fetched = await genai_client.aio.files.get(name=uploaded.name)
        listed = [f.name or "" async for f in await genai_client.aio.files.list()]
        body = await genai_client.aio.files.download(file=output_name)
        await genai_client.aio.files.delete(name=uploaded.name)
        return uploaded, fetched, listed, body

    uploaded, fetched, listed, body = asyncio.run(flow())
    assert fetched.display_name == "async" and fetched.size_bytes == jsonl.stat().st_size
    assert uploaded.name in listed and output_name in listed
    assert body == genai_client.files.download(file=output_name)
    with pytest.raises(errors.ClientError):
        genai_client.files.get(name=str(uploaded.name))
