"""cast_style: the cast's style guide, read from the inbox's `_style/` folder (no API call).

Unpartitioned and upstream of every character's prompt: its data version is the content hash
of style.yaml and the style images, so changing them makes every character stale, and nothing
else does. Without `_style/` it is an empty style that changes no prompt.
"""

import dagster as dg

from chargen_assets.resources import InboxResource
from chargen_assets.stopping import NOTHING_SENT, stops_plainly
from chargen_assets.storage import ChargenStorage
from chargen_resources.inbox.images import SourceImageError
from chargen_resources.inbox.style_spec import STYLE_FOLDER, StyleSpecError
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.style_stage import (
    MAX_STYLE_IMAGE_SIDE,
    StyleError,
    prepare_style,
)
from chargen_resources.words import counted

KEY = dg.AssetKey(stage_names.STYLE)
CODE_VERSION = "style-v1"
# The inbox fingerprint of `_style/` it was made from: the inbox sensor compares it.
INBOX_FINGERPRINT_TAG = "chargen/style_fingerprint"
NO_FOLDER = "none"  # the tag's value when the inbox has no _style/ folder


@dg.asset(
    key=KEY,
    code_version=CODE_VERSION,
    group_name="characters",
    kinds={"pillow"},
    description=(
        f"The cast's style guide from the inbox's {STYLE_FOLDER}/ folder: style.yaml (art "
        "direction, palette, aspect ratio and size defaults) and style reference images. Feeds "
        "every character's prompt and image request; empty without the folder."
    ),
)
@stops_plainly(stage_names.STYLE)
def cast_style(
    context: dg.AssetExecutionContext, storage: ChargenStorage, inbox: InboxResource
) -> dg.MaterializeResult:
    source = inbox.source()
    folder = source.style()  # listed once: what is read is what the fingerprint names
    try:
        style = prepare_style(folder, source, storage.store(), storage.prefix, MAX_STYLE_IMAGE_SIDE)
    except (StyleSpecError, StyleError, SourceImageError) as error:
        raise dg.Failure(
            description=f"cast_style: {error}. Nothing changed for the characters.",
            metadata={NOTHING_SENT: True},
            allow_retries=False,
        ) from None
    stored = storage.store_artifact(KEY, None, style)
    left_out = folder.warnings if folder is not None else ()
    for warning in left_out:  # as a character's folder says of its own
        context.log.warning(f"cast_style: {warning}")
    context.log.info(
        f"cast style: {counted(len(style.images), 'style image')}, art direction {style.spec.art_direction!r}"
        if style.present
        else f"no {STYLE_FOLDER}/ folder"
    )
    return dg.MaterializeResult(
        metadata={
            "present": style.present,
            "art_direction": style.spec.art_direction or "",
            "palette": ", ".join(style.spec.palette),
            "aspect_ratio": style.spec.aspect_ratio or "",
            "image_size": style.spec.image_size or "",
            "style_images": ", ".join(image.source_name for image in style.images) or "none",
            "skipped_files": dg.MetadataValue.md("\n".join(f"- {w}" for w in left_out) or "none"),
            "stored_at": dg.MetadataValue.path(stored.uri),
        },
        data_version=dg.DataVersion(style.content_hash),
        # The inbox sensor compares it with the folder's listing.
        tags={INBOX_FINGERPRINT_TAG: folder.fingerprint if folder is not None else NO_FOLDER},
    )
