"""Small helpers shared by the emulator tests (images, JSONL, raw HTTP)."""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types
from PIL import Image

from chargen_resources.emulator import RunningEmulator


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (64, 96)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, colour)
    image.paste((min(255, colour[0] + 30), colour[1], colour[2]), (8, 8, 24, 24))
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 96)) -> Path:
    path.write_bytes(png_bytes(colour, size))
    return path


def write_jsonl(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def wait_done(client: genai.Client, name: str, timeout: float = 20.0) -> types.BatchJob:
    deadline = time.monotonic() + timeout
    while True:
        job = client.batches.get(name=name)
        if job.done or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def raw(
    emulator: RunningEmulator,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One plain HTTP request (for what the SDK cannot send); returns status, headers, body."""
    all_headers = {
        "x-goog-api-key": "test-key",
        "Content-Type": "application/json",
        **(headers or {}),
    }
    request = urllib.request.Request(
        emulator.base_url + path, data=body, method=method, headers=all_headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def error_of(body: bytes) -> dict[str, Any]:
    parsed = json.loads(body)
    assert set(parsed) == {"error"}
    assert {"code", "message", "status"} <= set(parsed["error"])
    error: dict[str, Any] = parsed["error"]
    return error
