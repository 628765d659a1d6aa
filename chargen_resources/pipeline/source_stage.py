"""source_image: read each character's sketches from the inbox, validate and normalise them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from chargen_resources.characters.artifacts import SourceImages, StoredImage
from chargen_resources.inbox.character_spec import CharacterSpecError, parse_character_spec
from chargen_resources.inbox.images import MIN_SKETCH_SIDE, SourceImageError, normalise_image
from chargen_resources.inbox.sources import InboxCharacter, InboxError, InboxFile, InboxSource
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import PackedModels
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.storage.layout import artifact_stem
from chargen_resources.streaming.ahead import worked_ahead

STAGE = stage_names.SOURCE


def prepare_character(
    character: InboxCharacter, inbox: InboxSource, store: BlobStore, prefix: str, max_side: int
) -> SourceImages:
    """Normalise every sketch of one character into the store; raise with a clear reason."""
    if character.error:
        raise ValueError(character.error)
    spec = None
    if character.spec_file is not None:
        spec = parse_character_spec(inbox.read_bytes(character.spec_file), character.key)
    stored = store_normalised(
        character.images,
        inbox,
        store,
        artifact_stem(prefix, STAGE, character.key),
        max_side,
        character.key,
    )
    digest = hashlib.sha256(spec.model_dump_json().encode() if spec else b"no-spec")
    for image in stored:
        digest.update(image.sha256.encode())
    return SourceImages(
        character=character.key,
        source_name=character.source_name,
        spec=spec,
        images=stored,
        content_hash=digest.hexdigest(),
        skipped_files=list(character.warnings),
    )


def store_normalised(
    files: Sequence[InboxFile],
    inbox: InboxSource,
    store: BlobStore,
    folder: str,
    max_side: int,
    owner: str,
    min_side: int = MIN_SKETCH_SIDE,
) -> list[StoredImage]:
    """Normalise each image (by name order) into `folder`; raise naming the file and cause."""
    stored: list[StoredImage] = []
    for index, file in enumerate(sorted(files, key=lambda f: f.name)):
        image = normalise_image(
            inbox.read_bytes(file),
            name=file.name,
            max_side=max_side,
            min_side=min_side,
            character=owner,
        )
        key = f"{folder}/{index:02d}-{image.sha256[:12]}.png"
        store.put_bytes(key, image.png, "image/png")
        stored.append(
            StoredImage(
                key=key,
                source_name=file.name,
                sha256=image.sha256,
                width=image.width,
                height=image.height,
                source_format=image.source_format,
                size_bytes=len(image.png),
            )
        )
    return stored


@dataclass(frozen=True)
class _Refused:
    reason: str
    content: bool  # the character's own input is at fault (not a folder gone missing)


def prepare_sources(
    keys: Sequence[str], inbox: InboxSource, store: BlobStore, prefix: str, max_side: int = 2048
) -> StageOutcome[SourceImages]:
    # Held until the prompts are compiled: packed, like the paid stages' results.
    outcome: StageOutcome[SourceImages] = StageOutcome(STAGE, succeeded=PackedModels())
    listed = {character.key: character for character in inbox.list_characters()}

    def prepare(key: str) -> SourceImages | _Refused:
        character = listed.get(key)
        if character is None:
            return _Refused(
                f"no folder or image for character '{key}' in the inbox ({inbox.description}); "
                "it was moved or renamed. Put it back, or ignore this partition.",
                content=False,
            )
        try:
            return prepare_character(character, inbox, store, prefix, max_side)
        # One character's bad input (unreadable, oversize, a link out) fails it alone.
        except InboxError as error:  # names only the file: led by the character, as the rest are
            return _Refused(f"character '{key}': {error}", content=True)
        except (SourceImageError, CharacterSpecError, ValueError) as error:
            return _Refused(str(error), content=True)

    # Two characters at a time: decoding and encoding sketches mostly leave the GIL.
    for key, prepared in zip(keys, worked_ahead(prepare, keys, name="source"), strict=True):
        if isinstance(prepared, _Refused):
            outcome.fail(key, prepared.reason, content=prepared.content)
        else:
            outcome.succeeded[key] = prepared
    return outcome
