"""source_image: read each character's sketches from the inbox, validate and normalise them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from chargen_resources.characters.artifacts import SourceImages, StoredImage
from chargen_resources.inbox.character_spec import CharacterSpecError, parse_character_spec
from chargen_resources.inbox.images import SourceImageError, normalise_image
from chargen_resources.inbox.sources import InboxCharacter, InboxError, InboxSource
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.storage.layout import artifact_stem

STAGE = "source_image"


def prepare_character(
    character: InboxCharacter, inbox: InboxSource, store: BlobStore, prefix: str, max_side: int
) -> SourceImages:
    """Normalise every sketch of one character into the store; raise with a clear reason."""
    if character.error:
        raise ValueError(character.error)
    spec = None
    if character.spec_file is not None:
        spec = parse_character_spec(inbox.read_bytes(character.spec_file), character.key)
    stem = artifact_stem(prefix, STAGE, character.key)
    stored: list[StoredImage] = []
    digest = hashlib.sha256(spec.model_dump_json().encode() if spec else b"no-spec")
    for index, file in enumerate(sorted(character.images, key=lambda f: f.name)):
        image = normalise_image(
            inbox.read_bytes(file), name=file.name, max_side=max_side, character=character.key
        )
        key = f"{stem}/{index:02d}-{image.sha256[:12]}.png"
        store.put_bytes(key, image.png, "image/png")
        digest.update(image.sha256.encode())
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
    return SourceImages(
        character=character.key,
        source_name=character.source_name,
        spec=spec,
        images=stored,
        content_hash=digest.hexdigest(),
        skipped_files=list(character.warnings),
    )


def prepare_sources(
    keys: Sequence[str], inbox: InboxSource, store: BlobStore, prefix: str, max_side: int = 2048
) -> StageOutcome[SourceImages]:
    outcome: StageOutcome[SourceImages] = StageOutcome(STAGE)
    listed = {character.key: character for character in inbox.list_characters()}
    for key in keys:
        character = listed.get(key)
        if character is None:
            outcome.fail(
                key,
                f"no folder or image for character '{key}' in the inbox ({inbox.description}); "
                "it was moved or renamed. Put it back, or ignore this partition.",
            )
            continue
        try:
            outcome.succeeded[key] = prepare_character(character, inbox, store, prefix, max_side)
        except (SourceImageError, CharacterSpecError, InboxError, ValueError) as error:
            # One character's bad input (unreadable, oversize, a link out) fails it alone.
            outcome.fail(key, str(error), content=True)
    return outcome
