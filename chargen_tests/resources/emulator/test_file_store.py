"""The emulator's file store: the project quota, counted without re-reading every record."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chargen_resources.emulator import file_store
from chargen_resources.emulator.clock import EmulatorClock
from chargen_resources.emulator.file_store import UPLOAD_TTL_SECONDS, FileRecord, FileStore
from chargen_resources.emulator.wire import ApiError


def _upload(files: FileStore, data: bytes, name: str | None = None) -> FileRecord:
    meta = {"mimeType": "image/png", **({"name": f"files/{name}"} if name else {})}
    upload_id = files.start_upload(meta, len(data), None)
    record = files.append_chunk(upload_id, 0, io.BytesIO(data), len(data), finalize=True)
    assert record is not None
    return record


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path, EmulatorClock(tmp_path))


def test_the_quota_refuses_an_upload_past_it_and_frees_with_deletes_and_expiry(
    files: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_store, "MAX_PROJECT_BYTES", 100)
    first = _upload(files, b"a" * 60)
    with pytest.raises(ApiError) as refused:
        _upload(files, b"b" * 50)
    assert refused.value.http_status == 429 and "60 bytes in use" in refused.value.message
    files.delete(first.id)
    second = _upload(files, b"b" * 50)
    assert files.uploaded_bytes() == 50
    files.clock.advance(UPLOAD_TTL_SECONDS + 1)  # expired files stop counting, and go
    assert files.uploaded_bytes() == 0
    assert files.find(second.id) is None and not files.data_path(second.id).exists()


def test_a_name_deleted_and_uploaded_again_counts_its_new_size(files: FileStore) -> None:
    _upload(files, b"x" * 10, name="hero")
    assert files.uploaded_bytes() == 10
    files.delete("hero")
    _upload(files, b"y" * 25, name="hero")
    assert files.uploaded_bytes() == 25


def test_a_name_uploaded_again_on_the_same_inode_and_time_still_counts_its_new_size(
    files: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filesystem may give a deleted record's inode to the next record written, within the
    same tick of its clock (CI's did): the count must not take the new record for the old."""
    real_scandir = os.scandir

    class SameIdentity:
        def __init__(self, entry: os.DirEntry[str]) -> None:
            self.name = entry.name

        def stat(self) -> SimpleNamespace:
            return SimpleNamespace(st_ino=7, st_mtime_ns=0)

    @contextlib.contextmanager
    def reused_inodes(path: Path) -> Iterator[list[SameIdentity]]:
        with real_scandir(path) as entries:
            yield [SameIdentity(entry) for entry in entries]

    monkeypatch.setattr(file_store.os, "scandir", reused_inodes)
    _upload(files, b"x" * 10, name="hero")
    assert files.uploaded_bytes() == 10
    files.delete("hero")
    _upload(files, b"y" * 25, name="hero")
    assert files.uploaded_bytes() == 25


def test_each_record_is_read_once_however_many_uploads_follow(
    files: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[Path] = []
    original = file_store.read_json

    def counted(path: Path) -> Any:
        if path.parent == files.files_dir:
            reads.append(path)
        return original(path)

    monkeypatch.setattr(file_store, "read_json", counted)
    uploads = 40
    for index in range(uploads):
        _upload(files, bytes([index]) * 8)
    # Before: every upload's check read every record so far (780 reads for 40 uploads).
    assert len(reads) <= uploads
    assert files.uploaded_bytes() == uploads * 8


def test_a_second_store_on_the_same_folder_sees_the_first_ones_uploads(tmp_path: Path) -> None:
    one = FileStore(tmp_path, EmulatorClock(tmp_path))
    other = FileStore(tmp_path, EmulatorClock(tmp_path))
    assert other.uploaded_bytes() == 0
    _upload(one, b"z" * 30)
    assert other.uploaded_bytes() == 30


def test_uploads_between_counts_do_not_list_every_file(
    files: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_store.time, "monotonic", lambda: 1000.0)  # all within one second
    counts: list[int] = []
    original = FileStore.uploaded_bytes

    def counted(self: FileStore) -> int:
        counts.append(original(self))
        return counts[-1]

    monkeypatch.setattr(FileStore, "uploaded_bytes", counted)
    for index in range(40):
        _upload(files, bytes([index]) * 8)
    assert counts == [0]  # one count, then the store's own uploads added to it


def test_near_the_quota_every_upload_is_counted_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_store.time, "monotonic", lambda: 1000.0)
    monkeypatch.setattr(file_store, "MAX_PROJECT_BYTES", 100)
    one = FileStore(tmp_path, EmulatorClock(tmp_path))
    other = FileStore(tmp_path, EmulatorClock(tmp_path))
    _upload(one, b"a" * 50)
    _upload(other, b"b" * 10)  # not in `one`'s own count
    with pytest.raises(ApiError) as refused:
        _upload(one, b"c" * 45)  # 50 + 45 is near 100: counted, and 105 is over
    assert "60 bytes in use" in refused.value.message
