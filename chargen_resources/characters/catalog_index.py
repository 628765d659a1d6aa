"""What the last catalog made of each character, so that the next re-reads only what changed.

A 10,000-character cast is 50,000 small files (four records and a thumbnail each). The catalog
lists each stage's folder with every object's version (one listing per folder, no reads), keeps
the row, gallery card and costs of every character whose stored objects are the ones it read
last time, and reads only the others. A contact sheet whose characters all stayed as they were
is kept as it is.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from chargen_resources.characters.catalog import (
    CharacterState,
    catalog_row,
    cost_lines,
    status_of,
)
from chargen_resources.characters.gallery import GalleryCard, gallery_card

# Bump when an entry's row, card or costs would be computed differently from the same records:
# an index of another format is ignored, and the next catalog reads every character again.
INDEX_FORMAT = 1


class CatalogEntry(BaseModel):
    """One character as the catalog shows it, and the stored versions it was made from."""

    character: str
    made_from: str
    status: str
    row: dict[str, Any]
    card: str
    costs: list[tuple[str, float]]

    @property
    def gallery(self) -> GalleryCard:
        return GalleryCard(self.character, self.status, self.card)


class CatalogIndex(BaseModel):
    format: int = INDEX_FORMAT
    prefix: str
    entries: dict[str, CatalogEntry] = {}
    # Per contact sheet, in order, what it was drawn from ("" for one not known to be drawn).
    sheets: list[str] = []


def made_from(character: str, versions: Mapping[str, Mapping[str, str]]) -> str:
    """Everything stored about `character`, as one string: per listed folder (a stage's
    records, a stage's dead letters), the version of its object there ('' for none)."""
    return ";".join(f"{folder}={listed.get(character, '')}" for folder, listed in versions.items())


def catalog_entry(state: CharacterState, versions: str, prefix: str) -> CatalogEntry:
    return CatalogEntry(
        character=state.character,
        made_from=versions,
        status=status_of(state),
        row=catalog_row(state),
        card=gallery_card(state, prefix).html,
        costs=cost_lines(state),
    )


def sheet_made_from(names: Iterable[str], entries: Mapping[str, CatalogEntry]) -> str:
    """What a contact sheet of `names` is drawn from: their stored versions and statuses."""
    digest = hashlib.sha256()
    for name in names:
        entry = entries[name]
        digest.update(f"{name}\0{entry.made_from}\0{entry.status}\n".encode())
    return digest.hexdigest()


def encode_index(index: CatalogIndex) -> bytes:
    return gzip.compress(index.model_dump_json().encode(), compresslevel=1)


def decode_index(data: bytes, prefix: str) -> CatalogIndex | None:
    """The index, or None when it cannot be used (damaged, another format or another prefix):
    then every character is read again, which is always correct."""
    try:
        index = CatalogIndex.model_validate_json(gzip.decompress(data))
    except (OSError, EOFError, zlib.error, ValidationError):
        return None
    if index.format != INDEX_FORMAT or index.prefix != prefix:
        return None
    return index
