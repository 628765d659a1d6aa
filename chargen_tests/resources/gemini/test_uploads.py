"""UploadCache against the emulator: reuse by content hash, expiry and deletion noticed."""

import hashlib
import io
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google import genai
from PIL import Image

from chargen_resources.gemini.ledger import Ledger, UploadRecord
from chargen_resources.gemini.uploads import (
    TRUSTED_FOR_SECONDS,
    UploadCache,
    UploadedFile,
    WantedFile,
)
from chargen_resources.storage.blob_store import LocalBlobStore


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _ensure(cache: UploadCache, name: str, data: bytes) -> UploadedFile:
    """One file, as a stage asks for it."""
    wanted = _wanted(name, data)
    return cache.ensure_all([wanted])[wanted.sha256]


def test_uploads_are_reused_by_content_until_they_expire(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    ledger = Ledger(LocalBlobStore(tmp_path / "store"), "chargen")
    cache = UploadCache(genai_client, ledger)
    first = _ensure(cache, "red", _png((255, 0, 0)))
    second = _ensure(cache, "red again", _png((255, 0, 0)))
    other = _ensure(cache, "blue", _png((0, 0, 255)))
    assert not first.reused and second.reused and second.name == first.name
    assert other.name != first.name
    assert len(list(genai_client.files.list())) == 2

    # A later run finds them in the ledger and reuses them while the service keeps them.
    later = UploadCache(genai_client, ledger)
    assert _ensure(later, "red", _png((255, 0, 0))).name == first.name

    # A record about to expire is not trusted: the image goes up again.
    sha = hashlib.sha256(_png((255, 0, 0))).hexdigest()
    record = ledger.find_upload(sha)
    assert record is not None
    soon = datetime.now(UTC) + timedelta(hours=1)
    ledger.save_upload(UploadRecord(**{**record.model_dump(), "expires_at": soon}))
    assert not _ensure(UploadCache(genai_client, ledger), "red", _png((255, 0, 0))).reused

    # A file deleted behind our back is noticed.
    genai_client.files.delete(name=other.name)
    assert not _ensure(UploadCache(genai_client, ledger), "blue", _png((0, 0, 255))).reused


def test_a_run_trusts_what_it_confirmed_for_a_while_then_asks_the_service_again(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    # The image job's references are the sketches the analysis job sent minutes before: not
    # asked about again, one round trip per character. Later, the service is asked again.
    now = [0.0]
    cache = UploadCache(
        genai_client, Ledger(LocalBlobStore(tmp_path / "store"), "chargen"), clock=lambda: now[0]
    )
    sent = _ensure(cache, "hero", _png((4, 5, 6)))
    genai_client.files.delete(name=sent.name)  # the service is not asked: this goes unseen
    now[0] = TRUSTED_FOR_SECONDS - 1
    assert _ensure(cache, "hero", _png((4, 5, 6))) == replace(sent, reused=True)
    now[0] = TRUSTED_FOR_SECONDS + 1
    again = _ensure(cache, "hero", _png((4, 5, 6)))
    assert not again.reused and again.name != sent.name
    assert genai_client.files.get(name=again.name).state is not None


def _wanted(name: str, data: bytes, read: Callable[[], bytes] | None = None) -> WantedFile:
    return WantedFile(
        sha256=hashlib.sha256(data).hexdigest(),
        read=read or (lambda: data),
        mime_type="image/png",
        display_name=name,
    )


def test_distinct_contents_go_up_once_each_and_several_at_a_time(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    cache = UploadCache(genai_client, Ledger(LocalBlobStore(tmp_path / "store"), "chargen"))
    contents = [_png((index * 40, 0, 0)) for index in range(4)]
    # Each read waits until all four are being read at once: one at a time would break it.
    together = threading.Barrier(len(contents), timeout=30)

    def read_together(data: bytes) -> Callable[[], bytes]:
        return lambda: (together.wait(), data)[1]

    wanted = [_wanted(f"hero-{i}", data, read_together(data)) for i, data in enumerate(contents)]
    wanted.append(_wanted("hero-again", contents[0]))  # the same sketch as hero-0's
    files = cache.ensure_all(wanted)

    assert list(files) == [hashlib.sha256(data).hexdigest() for data in contents]
    assert len({file.name for file in files.values()}) == 4
    listed = {f.name: f.display_name for f in genai_client.files.list()}
    assert len(listed) == 4 and listed[files[wanted[0].sha256].name] == "hero-0"


def test_an_unreadable_file_is_raised_after_the_ones_before_it_are_up(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    ledger = Ledger(LocalBlobStore(tmp_path / "store"), "chargen")
    cache = UploadCache(genai_client, ledger)

    def missing() -> bytes:
        raise FileNotFoundError("sketches/hero-1/front.png")

    good = _png((1, 2, 3))
    with pytest.raises(FileNotFoundError, match="hero-1"):
        cache.ensure_all([_wanted("hero-0", good), _wanted("hero-1", b"gone", missing)])
    assert ledger.find_upload(hashlib.sha256(good).hexdigest()) is not None


def test_a_reused_upload_is_not_read_again(genai_client: genai.Client, tmp_path: Path) -> None:
    # The image job reuses the analysis job's uploads: its sketches are not read from storage.
    cache = UploadCache(genai_client, Ledger(LocalBlobStore(tmp_path / "store"), "chargen"))
    data = _png((9, 9, 9))
    first = cache.ensure_all([_wanted("hero-0", data)])

    def unread() -> bytes:
        raise AssertionError("a reused upload's bytes were read")

    again = cache.ensure_all([_wanted("hero-0", data, unread)])
    assert again == {sha: replace(file, reused=True) for sha, file in first.items()}
