"""UploadCache against the emulator: reuse by content hash, expiry and deletion noticed."""

import hashlib
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from google import genai
from PIL import Image

from chargen_resources.gemini.ledger import Ledger, UploadRecord
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.storage.blob_store import LocalBlobStore


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads_are_reused_by_content_until_they_expire(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    ledger = Ledger(LocalBlobStore(tmp_path / "store"), "chargen")
    cache = UploadCache(genai_client, ledger)
    first = cache.ensure_uploaded(_png((255, 0, 0)), "image/png", "red")
    second = cache.ensure_uploaded(_png((255, 0, 0)), "image/png", "red again")
    other = cache.ensure_uploaded(_png((0, 0, 255)), "image/png", "blue")
    assert not first.reused and second.reused and second.name == first.name
    assert other.name != first.name
    assert len(list(genai_client.files.list())) == 2

    # A record about to expire is not trusted: the image goes up again.
    sha = hashlib.sha256(_png((255, 0, 0))).hexdigest()
    record = ledger.find_upload(sha)
    assert record is not None
    soon = datetime.now(UTC) + timedelta(hours=1)
    ledger.save_upload(UploadRecord(**{**record.model_dump(), "expires_at": soon}))
    assert not cache.ensure_uploaded(_png((255, 0, 0)), "image/png", "red").reused

    # A file deleted behind our back is noticed.
    genai_client.files.delete(name=other.name)
    assert not cache.ensure_uploaded(_png((0, 0, 255)), "image/png", "blue").reused
