"""chargen storage: byte stores (local folder, S3), key layout and native codecs. No Dagster."""

from chargen_resources.storage.blob_store import (
    BlobNotFoundError,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
)
from chargen_resources.storage.codecs import CodecError, Encoded, PngImage, decode, encode
from chargen_resources.storage.documents import get_model, put_model
from chargen_resources.storage.keys import InvalidKeyError, validate_key
from chargen_resources.storage.layout import (
    artifact_key,
    dead_letter_key,
    ledger_key,
    staging_key,
)

__all__ = [
    "BlobNotFoundError",
    "BlobStore",
    "CodecError",
    "Encoded",
    "InvalidKeyError",
    "LocalBlobStore",
    "PngImage",
    "S3BlobStore",
    "artifact_key",
    "dead_letter_key",
    "decode",
    "encode",
    "get_model",
    "ledger_key",
    "put_model",
    "staging_key",
    "validate_key",
]
