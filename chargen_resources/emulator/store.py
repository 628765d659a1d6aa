"""Disk primitives shared by every process on one state directory: atomic writes and locks.

A writer puts bytes in a temporary file in the same directory and renames it over the target,
so a reader (or a process killed mid-write) sees either the old or the new content. No fsync: the
emulator stands in for a remote service, whose state must outlive a killed process (the rename
gives that), not a machine losing power; two fsyncs per upload were a third of its time.
Read-modify-write sequences that two processes could race run under ``flock`` on a lock file.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def new_id(length: int) -> str:
    """Random lowercase alphanumerics (the SDK cuts file URIs at the first other character):
    base32 of the system's random bytes, five bits a character, read in one call (a call per
    character was most of an upload's own time)."""
    random_bytes = os.urandom((length * 5 + 7) // 8)
    return base64.b32encode(random_bytes).decode().lower()[:length]


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_writer(path) as handle:
        handle.write(data)


def atomic_write_json(path: Path, value: Any) -> None:
    atomic_write_bytes(path, json.dumps(value, separators=(",", ":")).encode())


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Yield a binary handle; on clean exit its content replaces ``path`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{new_id(8)}.tmp")
    try:
        with open(temp, "wb") as handle:
            yield handle
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def read_json(path: Path) -> Any | None:
    """The JSON stored at ``path``, or None when there is none."""
    try:
        return json.loads(path.read_bytes())
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """Exclusive lock between threads and processes (flock is per open file description)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def try_locked(lock_path: Path) -> Iterator[bool]:
    """Like ``locked`` but never waits: yields False when someone else holds the lock."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
