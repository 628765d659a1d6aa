"""The emulator clock: a shared on-disk offset every process sees."""

import time
from pathlib import Path

from chargen_resources.emulator.clock import EmulatorClock, rfc3339


def test_offsets_are_shared_through_the_state_dir(tmp_path: Path) -> None:
    one, two = EmulatorClock(tmp_path), EmulatorClock(tmp_path)
    assert abs(one.now() - time.time()) < 5
    one.advance(48 * 3600)
    assert two.now() - time.time() > 48 * 3600 - 5
    two.set_offset(0)
    assert abs(one.now() - time.time()) < 5


def test_timestamps_are_rfc3339_utc() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00.000000Z"
