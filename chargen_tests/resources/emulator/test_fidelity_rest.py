"""The docs' curl samples replayed as raw HTTP, including their quirks (single-quoted JSON,
GET for :cancel and :delete, bare JSONL requests, ``?key=``, the /download/ host path)."""

from __future__ import annotations

import base64
import io
import json
import re
import time
from typing import Any

from PIL import Image

from chargen_resources.emulator import RunningEmulator
from chargen_tests.resources.emulator.helpers import error_of, raw


def _json(emulator: RunningEmulator, method: str, path: str, body: Any = None) -> Any:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    status, _, answer = raw(emulator, method, path, data)
    assert status == 200, answer
    return json.loads(answer) if answer else None


def _poll(emulator: RunningEmulator, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        operation: dict[str, Any] = _json(emulator, "GET", f"/v1beta/{name}")
        if operation.get("done") or time.monotonic() > deadline:
            return operation
        time.sleep(0.05)


def _upload_like_the_docs(emulator: RunningEmulator, data: bytes, display: str) -> dict[str, Any]:
    start_status, start_headers, _ = raw(
        emulator,
        "POST",
        "/upload/v1beta/files",
        f"{{'file': {{'display_name': '{display}'}}}}".encode(),  # the docs' single quotes
        {
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(len(data)),
            "X-Goog-Upload-Header-Content-Type": "text/plain",
        },
    )
    assert start_status == 200
    upload_url = {k.lower(): v for k, v in start_headers.items()}["x-goog-upload-url"]
    assert upload_url.startswith(emulator.base_url)
    status, headers, body = raw(
        emulator,
        "POST",
        upload_url.removeprefix(emulator.base_url),
        data,
        {"X-Goog-Upload-Offset": "0", "X-Goog-Upload-Command": "upload, finalize"},
    )
    assert status == 200
    assert {k.lower(): v for k, v in headers.items()}["x-goog-upload-status"] == "final"
    info: dict[str, Any] = json.loads(body)["file"]
    return info


def test_curl_upload_with_single_quoted_metadata(emulator: RunningEmulator) -> None:
    info = _upload_like_the_docs(emulator, b"hello docs", "BatchInput")
    assert info["displayName"] == "BatchInput"
    assert info["sizeBytes"] == "10" and info["state"] == "ACTIVE"
    fetched = _json(emulator, "GET", f"/v1beta/{info['name']}")
    assert fetched["uri"] == info["uri"]


def test_rest_inline_batch_with_snake_case_body(emulator: RunningEmulator) -> None:
    body = {
        "batch": {
            "display_name": "my-batch-requests",
            "input_config": {
                "requests": {
                    "requests": [
                        {
                            "request": {"contents": [{"parts": [{"text": "Describe photosynthesis."}]}]},
                            "metadata": {"key": f"request-{n}"},
                        }
                        for n in (1, 2)
                    ]
                }
            },
        }
    }  # fmt: skip
    created = _json(emulator, "POST", "/v1beta/models/gemini-2.5-flash:batchGenerateContent", body)
    assert created["name"].startswith("batches/")
    assert created["metadata"]["state"] == "BATCH_STATE_PENDING"
    assert created["metadata"]["displayName"] == "my-batch-requests"
    operation = _poll(emulator, created["name"])
    assert operation["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    items = operation["response"]["inlinedResponses"]["inlinedResponses"]
    assert items == operation["metadata"]["output"]["inlinedResponses"]["inlinedResponses"]
    assert [item["metadata"]["key"] for item in items] == ["request-1", "request-2"]
    assert all(item["response"]["candidates"][0]["content"]["parts"][0]["text"] for item in items)


def test_rest_file_batch_as_the_guide_writes_it(emulator: RunningEmulator) -> None:
    # The guide's REST input file holds bare GenerateContentRequests, and its create call
    # nests file_name under "requests" with the name unquoted after shell expansion.
    lines = (
        b'{"contents": [{"parts": [{"text": "Describe photosynthesis."}]}], "generationConfig": {"temperature": 0.7}}\n'
        b'{"contents": [{"parts": [{"text": "Margherita pizza ingredients?"}]}]}\n'
    )  # fmt: skip
    info = _upload_like_the_docs(emulator, lines, "BatchInput")
    body = f"{{'batch': {{'display_name': 'my-batch-requests', 'input_config': {{'requests': {{'file_name': {info['name']}}}}}}}}}"
    created = _json(
        emulator, "POST", "/v1beta/models/gemini-2.5-flash:batchGenerateContent", body.encode()
    )
    operation = _poll(emulator, created["name"])
    assert operation["metadata"]["state"] == "BATCH_STATE_SUCCEEDED"
    responses_file = operation["response"]["responsesFile"]
    status, _, output = raw(
        emulator, "GET", f"/download/v1beta/{responses_file}:download?alt=media"
    )
    assert status == 200
    parsed = [json.loads(line) for line in output.decode().splitlines()]
    assert len(parsed) == 2 and all("response" in line for line in parsed)


def test_get_cancel_and_get_delete_as_the_curl_samples_send_them(
    emulator: RunningEmulator,
) -> None:
    body = {"batch": {"display_name": "[emulator:batch-stuck]", "input_config": {"requests": {"requests": [{"request": {"contents": [{"parts": [{"text": "x"}]}]}}]}}}}  # fmt: skip
    created = _json(emulator, "POST", "/v1beta/models/gemini-2.5-flash:batchGenerateContent", body)
    name = created["name"]
    _json(emulator, "GET", f"/v1beta/{name}:cancel")  # curl without -X: a GET
    state = _json(emulator, "GET", f"/v1beta/{name}")["metadata"]["state"]
    assert state == "BATCH_STATE_CANCELLED"
    _json(emulator, "GET", f"/v1beta/{name}:delete")
    status, _, answer = raw(emulator, "GET", f"/v1beta/{name}")
    assert status == 404 and error_of(answer)["status"] == "NOT_FOUND"


def test_key_query_parameter_and_missing_key(emulator: RunningEmulator) -> None:
    body = json.dumps({"contents": [{"parts": [{"text": "hi"}]}]}).encode()
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    status, _, answer = raw(emulator, "POST", path + "?key=abc", body, {"x-goog-api-key": ""})
    assert status == 200 and json.loads(answer)["candidates"]
    status, _, answer = raw(emulator, "POST", path, body, {"x-goog-api-key": ""})
    assert status == 403 and error_of(answer)["status"] == "PERMISSION_DENIED"


def test_stream_without_alt_sse_is_a_json_array(emulator: RunningEmulator) -> None:
    body = json.dumps({"contents": [{"parts": [{"text": "Tell me a story"}]}]}).encode()
    path = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    status, headers, answer = raw(emulator, "POST", path, body)
    chunks = json.loads(answer)
    assert status == 200 and isinstance(chunks, list) and len(chunks) > 1
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    status, headers, answer = raw(emulator, "POST", path + "?alt=sse", body)
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in answer.decode().split("\r\n\r\n") if e]
    assert all(event.startswith("data: {") for event in events)
    assert [json.loads(e.removeprefix("data: ")) for e in events] == chunks


def test_rest_image_answer_greps_like_the_docs(emulator: RunningEmulator) -> None:
    body = {
        "contents": [{"parts": [{"text": "Create a picture of a nano banana dish"}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"], "image_config": {"aspect_ratio": "4:5", "image_size": "2K"}},
    }  # fmt: skip
    status, _, answer = raw(
        emulator,
        "POST",
        "/v1beta/models/gemini-3-pro-image-preview:generateContent",
        json.dumps(body).encode(),
    )
    assert status == 200
    # grep -o '"data": "[^"]*"' | cut -d'"' -f4 | base64 --decode
    found = re.findall(rb'"data": "([^"]*)"', answer)
    assert found
    image = Image.open(io.BytesIO(base64.b64decode(found[-1])))
    assert image.size == (1856, 2304)
