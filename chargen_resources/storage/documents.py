"""Pydantic documents (ledgers, dead letters, manifests) as JSON objects in a BlobStore."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.storage.codecs import CodecError, decode, encode

ModelT = TypeVar("ModelT", bound=BaseModel)


def put_model(store: BlobStore, key: str, model: BaseModel) -> None:
    """Write `model` as pretty, key-sorted JSON at `key` (replacing what was there)."""
    encoded = encode(model)
    store.put_bytes(key, encoded.data, encoded.content_type)


def get_model(store: BlobStore, key: str, cls: type[ModelT]) -> ModelT:
    """Read the JSON at `key` and validate it as `cls`; BlobNotFoundError if absent."""
    data = store.get_bytes(key)
    try:
        model: ModelT = decode(data, "json", cls)
    except CodecError as error:
        raise CodecError(f"{store.uri(key)}: {error}") from error
    return model
