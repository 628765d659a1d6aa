"""Atomic writes survive a kill mid-write; locks exclude other processes."""

from __future__ import annotations

import multiprocessing
import os
import signal
from multiprocessing.synchronize import Event
from pathlib import Path

from chargen_resources.emulator.store import (
    atomic_write_bytes,
    atomic_writer,
    locked,
    new_id,
    try_locked,
)


def _write_forever(path: str, writing: Event) -> None:
    with atomic_writer(Path(path)) as handle:
        handle.write(b"x" * 65536)
        writing.set()  # killed from here on, mid-write
        while True:
            handle.write(b"x" * 65536)


def test_killed_writer_leaves_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    atomic_write_bytes(target, b"old")
    context = multiprocessing.get_context("fork")
    writing = context.Event()
    process = context.Process(target=_write_forever, args=(str(target), writing))
    process.start()
    assert writing.wait(timeout=30)
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


def _hold_lock(path: str, holding: Event, release: Event) -> None:
    with locked(Path(path)):
        holding.set()
        release.wait(timeout=30)


def test_lock_excludes_another_process(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    context = multiprocessing.get_context("fork")
    holding, release = context.Event(), context.Event()
    process = context.Process(target=_hold_lock, args=(str(lock), holding, release))
    process.start()
    assert holding.wait(timeout=30)
    with try_locked(lock) as acquired:
        assert not acquired
    release.set()
    process.join()
    with try_locked(lock) as acquired:
        assert acquired


def test_ids_are_lowercase_alphanumerics_of_the_asked_length_and_differ() -> None:
    # The SDK cuts a file's URI at the first character that is not a lowercase alphanumeric.
    ids = {new_id(length) for length in (1, 8, 12, 24, 36) for _ in range(200)}
    assert all(identifier.isalnum() and identifier == identifier.lower() for identifier in ids)
    assert {len(new_id(length)) for length in (1, 8, 12, 24, 36)} == {1, 8, 12, 24, 36}
    assert len({new_id(12) for _ in range(1000)}) == 1000
