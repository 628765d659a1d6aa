"""The ledger's documents on both stores (local folder and the moto S3 server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from chargen_resources.gemini.ledger import (
    Claim,
    Claimant,
    ClaimRef,
    JobRecord,
    Ledger,
    LineDone,
    StagingArea,
    UploadRecord,
    fingerprint,
)
from chargen_resources.storage.blob_store import BlobStore, LocalBlobStore, S3BlobStore


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "store")
    return S3BlobStore(request.getfixturevalue("s3_client"), request.getfixturevalue("s3_bucket"))


def _claim(generation: int, carrier: str = "job-a") -> Claim:
    return Claim(
        stage="character_image",
        fingerprint="f" * 32,
        generation=generation,
        carrier=carrier,
        line_key="ash",
        claimant=Claimant.this_process("run-1"),
        lease_until=datetime.now(UTC) + timedelta(minutes=15),
    )


def test_fingerprints_ignore_key_order_but_not_content() -> None:
    assert fingerprint("m", {"a": 1, "b": [1, 2]}) == fingerprint("m", {"b": [1, 2], "a": 1})
    assert fingerprint("m", {"a": 1}) != fingerprint("m", {"a": 2})
    assert fingerprint("m", {"a": 1}) != fingerprint("other", {"a": 1})


def test_a_generation_is_claimed_once_and_the_newest_is_current(store: BlobStore) -> None:
    ledger = Ledger(store, "chargen")
    assert ledger.current_claim("character_image", "f" * 32) is None
    assert ledger.try_claim(_claim(0))
    assert not ledger.try_claim(_claim(0, carrier="job-b"))  # someone else's: refused
    current = ledger.current_claim("character_image", "f" * 32)
    assert current is not None and current.carrier == "job-a"
    ledger.mark_done(
        "character_image", ClaimRef(fingerprint="f" * 32, generation=0), LineDone(stored=False)
    )
    assert ledger.try_claim(_claim(1, carrier="job-b"))  # a take-over is the next generation
    current = ledger.current_claim("character_image", "f" * 32)
    assert current is not None and (current.generation, current.carrier) == (1, "job-b")
    done = ledger.done("character_image", ClaimRef(fingerprint="f" * 32, generation=0))
    assert done is not None and not done.stored
    assert ledger.done("character_image", ClaimRef(fingerprint="f" * 32, generation=1)) is None


def test_jobs_and_uploads_survive_a_new_process(store: BlobStore) -> None:
    Ledger(store, "chargen").save_job(
        JobRecord(
            display_name="chargen-image-x",
            stage="character_image",
            model="m",
            claimant=Claimant.this_process(),
            input_file="files/in",
            uploaded_files=["files/a"],
        )
    )
    Ledger(store, "chargen").save_upload(
        UploadRecord(
            sha256="abc", file_name="files/x", uri="u", mime_type="image/png", expires_at=None
        )
    )
    again = Ledger(store, "chargen")
    job = again.find_job("chargen-image-x")
    assert job is not None and job.status == "submitting" and job.files() == ["files/in", "files/a"]
    assert again.find_job("missing") is None
    upload = again.find_upload("abc")
    assert upload is not None and upload.file_name == "files/x"
    again.forget_upload("abc")
    assert again.find_upload("abc") is None


def test_this_process_is_alive_and_a_dead_one_is_not() -> None:
    assert Claimant.this_process().is_alive() is True
    child = subprocess.Popen(
        [sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE
    )
    out, _ = child.communicate()
    dead = Claimant.this_process().model_copy(update={"pid": int(out)})
    assert dead.is_alive() is False
    elsewhere = Claimant.this_process().model_copy(update={"host": "another-pod"})
    assert elsewhere.is_alive() is None  # only its lease can tell


def test_a_claimant_in_another_pid_namespace_is_not_looked_up_here() -> None:
    """Run containers on the host's network share its hostname and each is pid 1 inside: a
    claimant in another container must not be judged by whatever has its pid here."""
    other = Claimant.this_process().model_copy(update={"pid": 1, "pid_namespace": "pid:[1]"})
    assert other.is_alive() is None
    # Before the namespace was recorded, the host alone decided.
    older = Claimant.this_process().model_copy(update={"pid_namespace": None})
    assert older.is_alive() is True


def test_a_reused_pid_is_not_taken_for_the_claimant() -> None:
    reused = Claimant.this_process().model_copy(update={"process_start": "1"})
    assert os.getpid() == reused.pid and reused.is_alive() is False


def test_the_store_is_checked_to_refuse_a_second_create(store: BlobStore) -> None:
    assert Ledger(store, "chargen").atomic_create_holds()

    class Forgetful(LocalBlobStore):
        def create_new(self, key: str, data: bytes, content_type: str = "") -> bool:
            self.put_bytes(key, data, content_type)
            return True  # as a store that ignores If-None-Match would

    assert not Ledger(Forgetful(Path("/tmp") / "forgetful-store"), "chargen").atomic_create_holds()


class _EndsJobsWhileListing(LocalBlobStore):
    """Another run ends a job (and closes a staging area) between our listing and our read."""

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        keys = list(super().list_keys(prefix))
        for key in keys:
            if key.endswith(("chargen-image-gone.json", "gone-area.json")):
                self.delete(key)
        return iter(keys)


def test_a_record_removed_between_listing_and_reading_is_skipped(tmp_path: Path) -> None:
    store = _EndsJobsWhileListing(tmp_path)
    ledger = Ledger(store, "chargen")
    for name in ("chargen-image-gone", "chargen-image-live"):
        ledger.save_job(
            JobRecord(
                display_name=name,
                stage="character_image",
                model="m",
                claimant=Claimant.this_process(),
            )
        )
    for area in ("gone-area", "live-area"):
        ledger.open_staging(StagingArea(area=area, claimant=Claimant.this_process()))
    assert [job.display_name for job in ledger.live_jobs()] == ["chargen-image-live"]
    assert [area.area for area in ledger.staging_areas()] == ["live-area"]


def test_a_claim_stands_on_its_job_and_its_done_mark(store: BlobStore) -> None:
    ledger = Ledger(store, "chargen")
    claim = _claim(0, carrier="chargen-image-x")
    assert ledger.standing(claim) == (None, None)  # its job not recorded yet, nothing settled
    ledger.save_job(
        JobRecord(
            display_name="chargen-image-x",
            stage="character_image",
            model="m",
            claimant=Claimant.this_process(),
        )
    )
    ledger.mark_done("character_image", claim.ref, LineDone(stored=True))
    job, done = ledger.standing(claim)
    assert job is not None and job.display_name == "chargen-image-x"
    assert done is not None and done.stored
    # An interactive call has no job; only its done mark.
    interactive = _claim(0, carrier="interactive-ash").model_copy(update={"fingerprint": "e" * 32})
    assert ledger.standing(interactive) == (None, None)
    ledger.mark_done("character_image", interactive.ref, LineDone(stored=False, reason="blocked"))
    job, done = ledger.standing(interactive)
    assert job is None and done is not None and done.reason == "blocked"
