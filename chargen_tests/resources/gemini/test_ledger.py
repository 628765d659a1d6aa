from pathlib import Path

from chargen_resources.gemini.ledger import BatchRecord, Ledger, UploadRecord, request_set_hash
from chargen_resources.storage.blob_store import LocalBlobStore


def test_request_set_hash_ignores_order_but_not_content() -> None:
    a = ("a", {"contents": [1]})
    b = ("b", {"contents": [2]})
    assert request_set_hash("m", [a, b]) == request_set_hash("m", [b, a])
    assert request_set_hash("m", [a, b]) != request_set_hash("other", [a, b])
    assert request_set_hash("m", [a, b]) != request_set_hash("m", [a, ("b", {"contents": [3]})])


def test_records_survive_a_new_process(tmp_path: Path) -> None:
    first = Ledger(LocalBlobStore(tmp_path), "chargen")
    first.save_batch(BatchRecord(request_set="r1", stage="s", model="m", display_name="d", keys=2))
    first.save_upload(
        UploadRecord(
            sha256="abc", file_name="files/x", uri="u", mime_type="image/png", expires_at=None
        )
    )
    again = Ledger(LocalBlobStore(tmp_path), "chargen")
    found = again.find_batch("s", "r1")
    assert found is not None and found.keys == 2 and found.status == "submitting"
    assert again.find_batch("s", "r2") is None
    assert (tmp_path / "chargen/_ledger/batch-s-r1.json").is_file()
    upload = again.find_upload("abc")
    assert upload is not None and upload.file_name == "files/x"
    again.forget_upload("abc")
    assert again.find_upload("abc") is None
