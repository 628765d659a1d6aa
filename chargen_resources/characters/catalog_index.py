"""What the last catalog made of each character, so that the next re-reads only what changed.

A 10,000-character cast is 50,000 small files (four records and a thumbnail each). The catalog
lists each stage's folder with every object's version (one listing per folder, no reads), keeps
the row, gallery card and costs of every character whose stored objects are the ones it read
last time, and reads only the others. A contact sheet whose characters all stayed as they were
is kept as it is (the sheet itself says what it was drawn from: `contact_sheet.py`).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError

from chargen_resources.characters import artifacts, catalog, contact_sheet, gallery, prompt_compiler
from chargen_resources.characters.catalog import CharacterState, catalog_row, cost_lines, status_of
from chargen_resources.characters.gallery import GalleryCard, gallery_card
from chargen_resources.characters.thumbnails import read_thumbnail
from chargen_resources.storage.blob_store import BlobStore


def _code_digest(*modules: ModuleType | str) -> str:
    """Changes with the source of any of these modules (or files)."""
    digest = hashlib.sha256()
    for module in modules:
        path = module if isinstance(module, str) else str(module.__file__)
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


# The code that turns records into an entry, and the records' models: an index made by other
# code is ignored and every character is read again (once, after an upgrade of chargen), rather
# than rows, cards or costs computed the old way being kept.
INDEX_FORMAT = _code_digest(__file__, catalog, gallery, artifacts, prompt_compiler)
# Likewise, a contact sheet drawn by other code is drawn again.
SHEET_FORMAT = _code_digest(contact_sheet)


class CatalogEntry(BaseModel):
    """One character as the catalog shows it, and the stored versions it was made from."""

    character: str
    made_from: str
    status: str
    row: dict[str, Any]
    card: str
    costs: list[tuple[str, float]]
    # The image's small JPEG for the contact sheet: where it is stored, or (records made before
    # it was stored beside its take) the record's inline copy.
    thumbnail_key: str | None = None
    thumbnail_inline: str | None = None

    @property
    def gallery(self) -> GalleryCard:
        return GalleryCard(self.character, self.status, self.card)

    def thumbnail(self, store: BlobStore) -> bytes | None:
        return read_thumbnail(store, self.thumbnail_key, self.thumbnail_inline)


class CatalogIndex(BaseModel):
    format: str = INDEX_FORMAT
    prefix: str
    entries: dict[str, CatalogEntry] = {}


def made_from(character: str, versions: Mapping[str, Mapping[str, str]]) -> str:
    """Everything stored about `character`, as one string: per listed folder (a stage's
    records, a stage's dead letters), the version of its object there ('' for none)."""
    return ";".join(f"{folder}={listed.get(character, '')}" for folder, listed in versions.items())


def still_current(
    known: Mapping[str, CatalogEntry], now: Mapping[str, str]
) -> tuple[dict[str, CatalogEntry], list[str]]:
    """Of the characters `now` lists (character -> what is stored about it, see `made_from`),
    the entries the last catalog made that still hold, and the characters to read again."""
    kept = {
        key: known[key]
        for key, versions in now.items()
        if key in known and known[key].made_from == versions
    }
    return kept, [key for key in now if key not in kept]


def catalog_entry(
    state: CharacterState, versions: str, prefix: str, thumbnail_key: str | None
) -> CatalogEntry:
    """The catalog's entry for a character read just now (`thumbnail_key`: where its image's
    small JPEG is stored, if it is)."""
    return CatalogEntry(
        character=state.character,
        made_from=versions,
        status=status_of(state),
        row=catalog_row(state),
        card=gallery_card(state, prefix, thumbnail_key).html,
        costs=cost_lines(state),
        thumbnail_key=thumbnail_key,
        thumbnail_inline=state.image.thumbnail if state.image is not None else None,
    )


def sheet_made_from(names: Iterable[str], entries: Mapping[str, CatalogEntry]) -> str:
    """What a contact sheet of `names` is drawn from: their stored versions and statuses, and
    the code that draws it."""
    digest = hashlib.sha256(SHEET_FORMAT.encode())
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
