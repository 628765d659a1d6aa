"""The emulator's clock: wall time plus an offset shared through the state directory.

Tests jump ahead (file expiry, batch EXPIRED) by advancing the offset, which every process
serving the same state directory sees: ``POST /emulator/clock {"advanceSeconds": 172800}``,
``chargen-emulator clock --state-dir DIR --advance 172800`` or ``EmulatorClock.advance``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from chargen_resources.emulator.store import atomic_write_bytes, locked

CLOCK_FILE = "clock.json"


class EmulatorClock:
    def __init__(self, state_dir: Path, base_offset_seconds: float = 0.0) -> None:
        self._path = state_dir / CLOCK_FILE
        self._base_offset = base_offset_seconds

    def shared_offset(self) -> float:
        try:
            return float(json.loads(self._path.read_text())["offsetSeconds"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees them."""
        return time.time() + self._base_offset + self.shared_offset()

    def advance(self, seconds: float) -> float:
        """Move the shared clock forward (or back) and return the new shared offset."""
        with locked(self._path.with_suffix(".lock")):
            offset = self.shared_offset() + seconds
            atomic_write_bytes(self._path, json.dumps({"offsetSeconds": offset}).encode())
        return offset

    def set_offset(self, seconds: float) -> None:
        with locked(self._path.with_suffix(".lock")):
            atomic_write_bytes(self._path, json.dumps({"offsetSeconds": seconds}).encode())


def rfc3339(epoch_seconds: float) -> str:
    """Google-style timestamp with microseconds, e.g. 2026-01-01T00:00:00.123456Z."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
