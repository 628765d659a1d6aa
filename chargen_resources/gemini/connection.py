"""Build a google-genai client: Google with a real key, the embedded emulator without one.

The same code path serves both backends; only the base URL and the key differ, so whatever works
against the emulator goes to Google unchanged once `GEMINI_API_KEY` is set.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from google import genai
from google.genai import types

Backend = Literal["google", "custom", "emulator"]

# The emulator accepts any key; the SDK refuses to build a client without one.
EMULATOR_API_KEY = "chargen-emulator-key"
RETRYABLE_STATUS_CODES = (408, 429, 500, 502, 503, 504)

_log = logging.getLogger(__name__)
_embedded_lock = threading.Lock()
_embedded: dict[Path, str] = {}


@dataclass(frozen=True)
class ConnectionSettings:
    """What decides where requests go. `api_key` never reaches logs or metadata."""

    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    emulator_state_dir: Path = Path(".chargen/emulator")
    retry_attempts: int = 5
    retry_initial_delay: float = 1.0
    request_timeout_seconds: float = 300.0


@dataclass(frozen=True)
class GeminiConnection:
    client: genai.Client
    backend: Backend
    base_url: str
    given_url: bool = False  # GEMINI_BASE_URL chose the server, not a missing key

    def describe(self) -> str:
        """A log line that says where requests go, without the key."""
        if self.backend == "emulator":
            to_use_google = (
                "GEMINI_BASE_URL points at it; unset it to use Google"
                if self.given_url
                else "set GEMINI_API_KEY to use Google"
            )
            return (
                f"using the Gemini emulator at {self.base_url}: its images are drawings, marked "
                f"backend: emulator ({to_use_google})"
            )
        return f"using the Gemini API at {self.base_url}"


def embedded_emulator_url(state_dir: Path) -> str:
    """Start (once per process and state dir) the embedded emulator and return its URL.

    Every process of a Dagster deployment starts its own server over the same state dir; the
    emulator keeps all state on disk, so they all see the same files and batches.
    """
    from chargen_resources.emulator import EmulatorSettings, start_emulator

    state_dir = state_dir.resolve()
    with _embedded_lock:
        if state_dir not in _embedded:
            state_dir.mkdir(parents=True, exist_ok=True)
            running = start_emulator(state_dir, EmulatorSettings.from_env())
            _embedded[state_dir] = running.base_url
        return _embedded[state_dir]


def http_options(settings: ConnectionSettings, base_url: str | None) -> types.HttpOptions:
    return types.HttpOptions(
        base_url=base_url,
        timeout=int(settings.request_timeout_seconds * 1000),
        retry_options=types.HttpRetryOptions(
            attempts=settings.retry_attempts,
            initial_delay=settings.retry_initial_delay,
            http_status_codes=list(RETRYABLE_STATUS_CODES),
        ),
    )


def is_emulator(base_url: str) -> bool:
    """Whether `base_url` is a chargen emulator (it answers its own status route, unbilled)."""
    try:
        with urllib.request.urlopen(f"{base_url.rstrip('/')}/emulator/status", timeout=5) as answer:
            return answer.status == 200 and "stateDir" in json.loads(answer.read())
    except (OSError, ValueError):
        return False


def backend_of(settings: ConnectionSettings) -> Backend:
    """Who will answer, without connecting: Google with a key, the emulator without one, and
    for a `base_url` whatever answers there (`chargen-emulator serve` says it is one)."""
    if not settings.base_url:
        return "google" if settings.api_key else "emulator"
    return "emulator" if is_emulator(settings.base_url) else "custom"


def connect(settings: ConnectionSettings, backend: Backend | None = None) -> GeminiConnection:
    """A client for Google when a key is set, for `base_url` when given, else the emulator;
    `backend`, when the caller already asked `backend_of`."""
    backend = backend or backend_of(settings)
    if settings.api_key:
        base_url = settings.base_url
        api_key = settings.api_key
    else:
        base_url = settings.base_url or embedded_emulator_url(settings.emulator_state_dir)
        api_key = EMULATOR_API_KEY
    client = genai.Client(api_key=api_key, http_options=http_options(settings, base_url))
    shown_url = base_url or "https://generativelanguage.googleapis.com"
    return GeminiConnection(
        client=client, backend=backend, base_url=shown_url, given_url=bool(settings.base_url)
    )
