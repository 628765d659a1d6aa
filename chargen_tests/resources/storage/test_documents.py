from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from chargen_resources.storage.blob_store import BlobNotFoundError, LocalBlobStore
from chargen_resources.storage.codecs import CodecError
from chargen_resources.storage.documents import get_model, put_model


class LedgerEntry(BaseModel):
    job_name: str
    keys: list[str]


def test_put_then_get_model(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    entry = LedgerEntry(job_name="batches/123", keys=["a", "b"])
    put_model(store, "chargen/_ledger/x.json", entry)
    assert get_model(store, "chargen/_ledger/x.json", LedgerEntry) == entry
    assert (tmp_path / "chargen/_ledger/x.json").read_text().startswith("{\n")


def test_get_model_errors_name_the_object(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(BlobNotFoundError):
        get_model(store, "missing.json", LedgerEntry)
    store.put_bytes("bad.json", b'{"job_name": 3}', "application/json")
    with pytest.raises(CodecError, match=r"bad\.json.*LedgerEntry"):
        get_model(store, "bad.json", LedgerEntry)
