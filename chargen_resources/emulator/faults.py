"""Faults on demand: the marker grammar and the server-wide failure counters.

Marker grammar
--------------
A marker is ``[emulator:NAME]`` or ``[emulator:NAME=VALUE]`` (case-insensitive) anywhere in the
text parts of a request (``contents`` or ``systemInstruction``), in the ``key`` of a batch JSONL
line or in the ``metadata`` values of an inline batch request. Per-request markers:

==========================  ====================================================================
``[emulator:http-429]``     answer HTTP 429 RESOURCE_EXHAUSTED (any 4xx/5xx code works, e.g.
                            ``http-500``, ``http-503``); inside a batch the line gets that error
``[emulator:line-error]``   inside a batch: this line's output is ``{"key", "error"}`` (13
                            INTERNAL); outside a batch: HTTP 500
``[emulator:safety]``       blocked as if unsafe: image models finish with ``IMAGE_SAFETY`` and no
                            image, text models answer ``promptFeedback.blockReason: SAFETY``
``[emulator:slow=2.5]``     wait 2.5 s before answering
``[emulator:stream-cut]``   streaming: the connection closes in the middle of the (final) image
                            or text; non-streaming: the body is cut short
``[emulator:stream-error]`` streaming: after the first event, an in-stream ``{"error"}`` 500
``[emulator:drafts=N]``     image models: send N (0-2) ``thought: true`` draft images first
==========================  ====================================================================

Per-batch markers go in the batch ``displayName``:

================================  ==============================================================
``[emulator:batch-failed]``       the job ends ``BATCH_STATE_FAILED`` with an Operation error
``[emulator:batch-expired]``      the job ends ``BATCH_STATE_EXPIRED`` (no results) when due
``[emulator:batch-stuck]``        the job stays ``BATCH_STATE_PENDING`` (until the 48 h expiry)
``[emulator:batch-late-output]``  ``SUCCEEDED`` is reported before the output file exists; the
                                  file appears ``=SECONDS`` later (default: the settings value)
================================  ==============================================================

Server-wide: ``EmulatorSettings.fail_next_requests``/``fail_status``/``fail_path_contains``
(per process), or ``POST /emulator/faults {"failNext": N, "status": 503, "pathContains": ""}``
(shared by every process on the state directory).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel

from chargen_resources.emulator.settings import BatchOutcome, EmulatorSettings
from chargen_resources.emulator.store import atomic_write_json, locked, read_json

MARKER = re.compile(r"\[emulator:([a-z0-9-]+)(?:=([^\]\s]*))?\]", re.IGNORECASE)
_HTTP_MARKER = re.compile(r"http-([45]\d\d)")


class RequestFaults(BaseModel):
    http_status: int | None = None
    line_error: bool = False
    safety: bool = False
    slow_seconds: float = 0.0
    stream_cut: bool = False
    stream_error: bool = False
    drafts: int | None = None


class BatchFaults(BaseModel):
    outcome: BatchOutcome | None = None
    late_output_seconds: float | None = None


def find_markers(texts: Iterable[str]) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    for text in texts:
        for match in MARKER.finditer(text):
            found.append((match.group(1).lower(), match.group(2)))
    return found


def _as_float(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def request_faults(texts: Iterable[str]) -> RequestFaults:
    faults = RequestFaults()
    for name, value in find_markers(texts):
        http = _HTTP_MARKER.fullmatch(name)
        if http:
            faults.http_status = int(http.group(1))
        elif name == "line-error":
            faults.line_error = True
        elif name == "safety":
            faults.safety = True
        elif name == "slow":
            faults.slow_seconds = max(0.0, _as_float(value, 1.0))
        elif name == "stream-cut":
            faults.stream_cut = True
        elif name == "stream-error":
            faults.stream_error = True
        elif name == "drafts":
            faults.drafts = min(2, max(0, int(_as_float(value, 0))))
    return faults


_BATCH_OUTCOMES: dict[str, BatchOutcome] = {
    "batch-failed": "failed",
    "batch-expired": "expired",
    "batch-stuck": "stuck",
    "batch-pending": "stuck",
    "batch-late-output": "late-output",
}


def batch_faults(display_name: str | None) -> BatchFaults:
    faults = BatchFaults()
    for name, value in find_markers([display_name or ""]):
        if name in _BATCH_OUTCOMES:
            faults.outcome = _BATCH_OUTCOMES[name]
            if name == "batch-late-output" and value:
                faults.late_output_seconds = _as_float(value, 0.0)
    return faults


class FailureCounters:
    """'Fail the next N calls': one counter per process (settings) and one shared on disk."""

    def __init__(self, state_dir: Path, settings: EmulatorSettings) -> None:
        self._shared_path = state_dir / "faults.json"
        self._lock = threading.Lock()
        self._local_left = settings.fail_next_requests
        self._local_status = settings.fail_status
        self._local_match = settings.fail_path_contains

    def arm_shared(self, fail_next: int, status: int, path_contains: str) -> None:
        with locked(self._shared_path.with_suffix(".lock")):
            atomic_write_json(
                self._shared_path,
                {"failNext": fail_next, "status": status, "pathContains": path_contains},
            )

    def take(self, path: str) -> int | None:
        """The HTTP status to fail this call with, consuming one unit of a counter, or None."""
        with self._lock:
            if self._local_left > 0 and self._local_match in path:
                self._local_left -= 1
                return self._local_status
        if not self._shared_path.exists():
            return None
        with locked(self._shared_path.with_suffix(".lock")):
            armed = read_json(self._shared_path)
            if not isinstance(armed, dict):
                return None
            try:
                left, status, match = armed["failNext"], armed["status"], armed["pathContains"]
            except (TypeError, KeyError):
                return None
            if left <= 0 or match not in path:
                return None
            atomic_write_json(self._shared_path, {**armed, "failNext": left - 1})
            return int(status)

    def describe(self) -> str:
        return json.dumps(
            {"localFailNext": self._local_left, "shared": read_json(self._shared_path)}
        )
