"""The sketches a batch job sends: each a `fileData` reference to its upload on the Files API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import NamedTuple

from chargen_resources.characters.prompt_compiler import Reference
from chargen_resources.characters.requests import ImageReference
from chargen_resources.gemini.uploads import UploadCache, WantedFile
from chargen_resources.storage.blob_store import BlobStore


class SentReferences(NamedTuple):
    by_character: dict[str, list[ImageReference]]
    file_names: list[str]  # the uploads on the service they point at, each once


def uploaded_references(
    wanted: Mapping[str, Sequence[Reference]], *, uploads: UploadCache, store: BlobStore
) -> SentReferences:
    """Each character's references, in order, as the service will find them: every distinct
    sketch uploaded (or its upload reused while the service keeps it), several at a time."""
    files = uploads.ensure_all(
        WantedFile(
            sha256=reference.sha256,
            read=partial(store.get_bytes, reference.key),
            mime_type=reference.mime_type,
            display_name=f"{character}-{reference.name}",
        )
        for character, references in wanted.items()
        for reference in references
    )
    by_character = {
        character: [
            ImageReference(
                uri=files[reference.sha256].uri,
                mime_type=files[reference.sha256].mime_type,
                role=reference.role,
            )
            for reference in references
        ]
        for character, references in wanted.items()
    }
    return SentReferences(by_character, sorted({file.name for file in files.values()}))
