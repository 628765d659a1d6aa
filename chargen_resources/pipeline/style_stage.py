"""cast_style: the inbox's `_style/` folder read into the cast's style guide (no API call)."""

from __future__ import annotations

from chargen_resources.characters.artifacts import CastStyle
from chargen_resources.inbox.images import SourceImageError
from chargen_resources.inbox.sources import InboxCharacter, InboxSource, SkipKind
from chargen_resources.inbox.style_spec import (
    STYLE_FOLDER,
    StyleSpec,
    StyleSpecError,
    parse_style_spec,
)
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.source_stage import store_normalised
from chargen_resources.storage.blob_store import BlobNotFoundError, BlobStore
from chargen_resources.storage.documents import get_model
from chargen_resources.storage.layout import artifact_key, artifact_stem

STAGE = stage_names.STYLE
# Style images are art direction, not figures to follow: this is plenty.
MAX_STYLE_IMAGE_SIDE = 2048


def stored_style(store: BlobStore, prefix: str, inbox: InboxSource) -> CastStyle:
    """The stored style guide; an empty one when there is no `_style/` (or none stored yet).
    A `_style/` folder that was never read, or changed, added or removed since it was, is the
    user's to materialize first, said plainly: prompts made from the old guide would be paid for
    and then be stale at once."""
    stored = _stored_guide(store, prefix)
    folder = inbox.style()
    if (problem := style_out_of_date(stored, folder)) is not None:
        if (unreadable := _spec_problem(folder, inbox)) is not None:
            raise StyleError(f"{problem}, and cannot be read as it is: {unreadable}")
        raise StyleError(f"{problem}; {MATERIALIZE_STYLE}")
    return stored or CastStyle()


def style_to_price(
    store: BlobStore, prefix: str, inbox: InboxSource, reading: BlobStore
) -> tuple[CastStyle, str | None]:
    """The guide the next runs will use, for an estimate: the stored one while it is up to
    date; else `_style/` as the inbox has it now, read into `reading` (a store that keeps
    nothing), with what is out of date: runs wait for cast_style to read it, and then send what
    it gives. A folder that cannot be read raises StyleError, as a run would."""
    stored = _stored_guide(store, prefix)
    folder = inbox.style()
    if (problem := style_out_of_date(stored, folder)) is None:
        return stored or CastStyle(), None
    try:
        style = prepare_style(folder, inbox, reading, prefix, MAX_STYLE_IMAGE_SIDE)
    except (StyleSpecError, StyleError, SourceImageError) as error:
        raise StyleError(
            f"{problem}, and cannot be read as it is: {error}; fix it, then materialize cast_style"
        ) from None
    return style, problem


def _stored_guide(store: BlobStore, prefix: str) -> CastStyle | None:
    try:
        return get_model(store, artifact_key(prefix, STAGE, None, "json"), CastStyle)
    except BlobNotFoundError:
        return None


# What to do when the stored guide is out of date, in the UI and from the command line.
MATERIALIZE_STYLE = (
    "materialize cast_style first (the inbox sensor does when the folder changes; by hand, "
    "Materialize on cast_style in the UI, or `dagster asset materialize -m "
    "chargen_assets.definitions --select cast_style`)"
)


def _spec_problem(folder: InboxCharacter | None, inbox: InboxSource) -> str | None:
    """Why `_style/`'s style.yaml cannot be read, if it cannot: the cause cast_style met, named
    where its stale guide is refused (a run, an estimate) rather than only in cast_style's run."""
    if folder is None or folder.spec_file is None:
        return None
    try:
        parse_style_spec(
            inbox.read_bytes(folder.spec_file), f"{STYLE_FOLDER}/{folder.spec_file.name}"
        )
    except StyleSpecError as error:
        return f"{error}; fix it, then materialize cast_style"
    return None


def style_out_of_date(stored: CastStyle | None, folder: InboxCharacter | None) -> str | None:
    """How the inbox's `_style/` differs from the stored guide, if it does."""
    if folder is None:
        if stored is not None and stored.present:
            return f"the inbox no longer has the {STYLE_FOLDER}/ folder cast_style was read from"
        return None
    if stored is None:
        return (
            f"the inbox has a {STYLE_FOLDER}/ folder but cast_style has not been materialized yet"
        )
    if not stored.present:
        return f"the inbox has a {STYLE_FOLDER}/ folder now, and cast_style was read without one"
    if stored.folder_fingerprint not in (None, folder.fingerprint):  # None: stored before
        return f"the inbox's {STYLE_FOLDER}/ folder changed since cast_style was read"
    return None


class StyleError(ValueError):
    """The style guide cannot be used; the message names the file and the cause."""


def prepare_style(
    folder: InboxCharacter | None, inbox: InboxSource, store: BlobStore, prefix: str, max_side: int
) -> CastStyle:
    """Read `_style/` as the inbox listed it (`InboxScan.style`: style.yaml and style images)
    and normalise its images into the store; without the folder, an empty style that changes
    nothing."""
    if folder is None:
        return CastStyle()
    for skipped in folder.skipped:
        if skipped.kind is SkipKind.LINK_OUTSIDE:
            raise StyleError(
                f"{skipped.path} {skipped.reason}; put the file itself in {STYLE_FOLDER}/"
            )
    spec = StyleSpec()
    if folder.spec_file is not None:
        where = f"{STYLE_FOLDER}/{folder.spec_file.name}"
        spec = parse_style_spec(inbox.read_bytes(folder.spec_file), where)
    images = store_normalised(
        folder.images,
        inbox,
        store,
        artifact_stem(prefix, STAGE, "images"),
        max_side,
        STYLE_FOLDER,
        min_side=1,  # art direction, not a figure to follow: a swatch or a tile may be tiny
    )
    return CastStyle(spec=spec, images=images, present=True, folder_fingerprint=folder.fingerprint)
