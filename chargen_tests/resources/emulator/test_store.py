"""Atomic writes survive a kill mid-write; locks exclude other processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

from chargen_resources.emulator.store import atomic_write_bytes, atomic_writer, locked, try_locked


def _write_forever(path: str) -> None:
    with atomic_writer(Path(path)) as handle:
        while True:
            handle.write(b"x" * 65536)


def test_killed_writer_leaves_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    atomic_write_bytes(target, b"old")
    process = multiprocessing.get_context("fork").Process(
        target=_write_forever, args=(str(target),)
    )
    process.start()
    time.sleep(0.2)
    assert process.pid is not None
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    assert target.read_bytes() == b"old"


def test_exception_inside_writer_keeps_old_content_and_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    try:
        with atomic_writer(target) as handle:
            handle.write(b"new")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def _hold_lock(path: str, seconds: float) -> None:
    with locked(Path(path)):
        time.sleep(seconds)


def test_lock_excludes_another_process(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    process = multiprocessing.get_context("fork").Process(target=_hold_lock, args=(str(lock), 1.0))
    process.start()
    time.sleep(0.3)
    with try_locked(lock) as acquired:
        assert not acquired
    process.join()
    with try_locked(lock) as acquired:
        assert acquired
