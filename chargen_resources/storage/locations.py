"""Where a folder-or-bucket setting points: `./path` or `s3://bucket/prefix`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from chargen_resources.storage.blob_store import BlobStore, LocalBlobStore, S3BlobStore

# Where results and the inbox are unless CHARGEN_STORAGE / CHARGEN_INBOX say otherwise, and
# the key prefix results go under in a bucket named without one.
DEFAULT_STORAGE = ".chargen/storage"
DEFAULT_INBOX = "inbox"
DEFAULT_PREFIX = "chargen"


@dataclass(frozen=True)
class Location:
    bucket: str | None  # None: a local folder
    path: str  # the folder, or the key prefix in the bucket (no slashes around it)

    def __str__(self) -> str:
        return self.path if self.bucket is None else f"s3://{self.bucket}/{self.path}"

    @classmethod
    def parse(cls, value: str) -> Location:
        if value.startswith("s3://"):
            bucket, _, prefix = value.removeprefix("s3://").partition("/")
            return cls(bucket=bucket, path=prefix.strip("/"))
        return cls(bucket=None, path=value)


def s3_client() -> Any:
    """A boto3 S3 client for CHARGEN_S3_ENDPOINT_URL (or AWS), credentials from the environment."""
    return boto3.client("s3", endpoint_url=os.environ.get("CHARGEN_S3_ENDPOINT_URL") or None)


def storage_location() -> Location:
    """Where CHARGEN_STORAGE puts results."""
    return Location.parse(os.environ.get("CHARGEN_STORAGE", DEFAULT_STORAGE))


def inbox_location() -> Location:
    """Where CHARGEN_INBOX says the sketches are."""
    return Location.parse(os.environ.get("CHARGEN_INBOX", DEFAULT_INBOX))


def _holds(outer: Location, inner: Location) -> bool:
    if outer.bucket is None:
        return Path(inner.path).resolve().is_relative_to(Path(outer.path).resolve())
    start = outer.path.strip("/")
    return not start or inner.path.strip("/") == start or inner.path.startswith(f"{start}/")


def overlap_problem(storage: Location, inbox: Location) -> str | None:
    """Why results stored at `storage` and sketches read from `inbox` cannot share a place (one
    inside the other), or None. Results inside the inbox would be read back as a character and
    paid for on every run; an inbox inside the results could be written over."""
    if storage.bucket != inbox.bucket:
        return None
    # Where results are written: the bucket's prefix, or the folder's own `chargen/`.
    results = (
        Location(None, str(Path(storage.path) / DEFAULT_PREFIX))
        if storage.bucket is None
        else Location(storage.bucket, storage.path.strip("/") or DEFAULT_PREFIX)
    )
    if not (_holds(results, inbox) or _holds(inbox, results)):
        return None
    return (
        f"the results ({storage}) and the inbox ({inbox}) overlap: chargen would read its "
        "own results as characters and pay to make them again. Set CHARGEN_STORAGE and "
        "CHARGEN_INBOX to places apart (neither inside the other)"
    )


def storage_from_env() -> tuple[BlobStore, str]:
    """The results store named by CHARGEN_STORAGE, and the key prefix chargen writes under."""
    location = storage_location()
    if location.bucket is None:
        return LocalBlobStore(Path(location.path)), DEFAULT_PREFIX
    return S3BlobStore(s3_client(), location.bucket), location.path or DEFAULT_PREFIX
