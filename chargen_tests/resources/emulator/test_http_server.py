"""Routing, API key, server-wide faults and admin routes over raw HTTP and the SDK."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from google.genai import errors

from chargen_resources.emulator import EmulatorSettings, RunningEmulator, start_emulator
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import error_of, raw


def test_unknown_routes_and_methods_get_json_404(emulator: RunningEmulator) -> None:
    for method, path in (
        ("GET", "/v1beta/nothing"),
        ("PUT", "/v1beta/files"),
        ("GET", "/v2/files"),
        ("POST", "/v1beta/models/gemini-2.5-flash:fly"),
    ):
        status, _, body = raw(emulator, method, path, b"{}" if method != "GET" else None)
        assert status == 404 and error_of(body)["status"] == "NOT_FOUND"


def test_api_key_is_required(emulator: RunningEmulator) -> None:
    status, _, body = raw(emulator, "GET", "/v1beta/files", headers={"x-goog-api-key": ""})
    assert status == 403 and error_of(body)["status"] == "PERMISSION_DENIED"
    assert raw(emulator, "GET", "/v1beta/files?key=abc", headers={"x-goog-api-key": ""})[0] == 200


def test_garbage_on_the_socket_does_not_kill_the_server(emulator: RunningEmulator) -> None:
    with socket.create_connection((emulator.host, emulator.port), timeout=5) as sock:
        sock.sendall(b"POST /v1beta/files HTTP/1.1\r\nContent-Length: nope\r\n\r\n")
        assert b"400" in sock.recv(4096).split(b"\r\n")[0]
    assert raw(emulator, "GET", "/v1beta/files")[0] == 200


def test_fail_next_requests_from_settings(tmp_path: Path) -> None:
    settings = EmulatorSettings(
        fail_next_requests=2, fail_status=429, fail_path_contains=":generateContent"
    )
    with start_emulator(tmp_path, settings) as emulator:
        client = client_for(emulator)
        assert list(client.files.list()) == []  # other paths are not affected
        for _ in range(2):
            with pytest.raises(errors.ClientError) as caught:
                client.models.generate_content(model="gemini-2.5-flash", contents="hi")
            assert caught.value.code == 429 and caught.value.status == "RESOURCE_EXHAUSTED"
        assert client.models.generate_content(model="gemini-2.5-flash", contents="hi").text


def test_shared_fault_counter_spans_processes_on_one_state_dir(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    status, _, _ = raw(
        emulator, "POST", "/emulator/faults", json.dumps({"failNext": 1, "status": 503}).encode()
    )
    assert status == 200
    with start_emulator(emulator.state_dir) as other:
        other_client = client_for(other)
        with pytest.raises(errors.ServerError) as caught:
            other_client.files.list()
        assert caught.value.code == 503
    client = client_for(emulator)
    assert list(client.files.list()) == []
    status, _, body = raw(emulator, "POST", "/emulator/faults", b'{"failNext": -1}')
    assert "failNext" in error_of(body)["message"]
    assert status == 400


def test_status_route_reports_settings_and_clock(emulator: RunningEmulator) -> None:
    raw(emulator, "POST", "/emulator/clock", b'{"offsetSeconds": 60}')
    status, _, body = raw(emulator, "GET", "/emulator/status")
    report = json.loads(body)
    assert status == 200 and report["sharedClockOffsetSeconds"] == 60
    assert report["settings"]["pending_seconds"] == 0


def test_latency_knob(tmp_path: Path) -> None:
    import time

    with start_emulator(tmp_path, EmulatorSettings(latency_seconds=0.3)) as emulator:
        client = client_for(emulator)
        started = time.monotonic()
        client.files.list()
        assert time.monotonic() - started >= 0.3


def test_models_get_and_list(emulator: RunningEmulator) -> None:
    client = client_for(emulator)
    assert client.models.get(model="gemini-2.5-flash").name == "models/gemini-2.5-flash"
    assert any(m.name == "models/gemini-3-pro-image-preview" for m in client.models.list())
