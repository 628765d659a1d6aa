"""Small inline previews, so a person sees each character in the Dagster UI."""

from __future__ import annotations

import base64
import io

from PIL import Image

from chargen_resources.storage.blob_store import BlobNotFoundError, BlobStore

THUMBNAIL_SIDE = 160


# Modes that resize smoothly as they are; others (palette, 1-bit, 16-bit) are converted first.
_RESIZABLE_MODES = frozenset({"RGB", "RGBA", "L", "LA"})


def fitted_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled down, aspect kept, to fit inside `box` (never scaled up)."""
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def thumbnail_image(image: Image.Image) -> Image.Image:
    """A decoded image shrunk to thumbnail size, in RGB."""
    # Resized before it is converted: converting first copied every pixel of a full-size take.
    source = image if image.mode in _RESIZABLE_MODES else image.convert("RGB")
    box = (THUMBNAIL_SIDE, THUMBNAIL_SIDE * 2)
    # Averaged down by whole factors first, then bicubic for the rest: twice as fast as a gap of
    # 2 (this runs once per image a run keeps), and alike at 160 pixels.
    return source.resize(
        fitted_size(source.size, box), Image.Resampling.BICUBIC, reducing_gap=1.0
    ).convert("RGB")


def jpeg_bytes(small: Image.Image) -> bytes:
    """A thumbnail as the JPEG stored beside its take (a few KB: light enough for every
    character)."""
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def thumbnail_bytes(markdown: str | None) -> bytes | None:
    """The JPEG inside an inline-image markdown string, as records made before thumbnails were
    stored beside their takes carry it (None when there is none)."""
    if not markdown or "base64," not in markdown:
        return None
    return base64.b64decode(markdown.split("base64,", 1)[1].rstrip(")"))


def read_thumbnail(store: BlobStore, key: str | None, inline: str | None) -> bytes | None:
    """A thumbnail from an older record's inline markdown when it has one, else from `key`
    (None when neither gives one)."""
    if inline is not None:
        return thumbnail_bytes(inline)
    try:
        return store.get_bytes(key) if key else None
    except BlobNotFoundError:
        return None


# Dagster 1.13 shows a markdown metadata value inline when it is under 1,000 characters, and
# behind a "[Show Markdown]" dialog otherwise.
INLINE_MARKDOWN_LIMIT = 1000
# Largest first: the first that fits is shown.
_GLANCE_STEPS = ((96, 60), (80, 50), (64, 45), (48, 35), (40, 25))


def glance_markdown(jpeg: bytes | None, alt: str) -> str | None:
    """`glance_of` a stored thumbnail JPEG (None when there is none or it does not decode)."""
    if jpeg is None:
        return None
    try:
        with Image.open(io.BytesIO(jpeg)) as opened:
            source = opened.convert("RGB")
    except (OSError, ValueError):  # an unreadable preview is no reason to fail a record
        return None
    return glance_of(source, alt)


def glance_of(source: Image.Image, alt: str) -> str | None:
    """A tiny WebP of a thumbnail-sized image, as markdown small enough to show inline on the
    materialization (None if even the smallest step is too large)."""
    label = alt.replace("]", "")[:40]
    for side, quality in _GLANCE_STEPS:
        small = source.copy()
        small.thumbnail((side, side * 2))
        buffer = io.BytesIO()
        small.save(buffer, format="WEBP", quality=quality)
        markdown = (
            f"![{label}](data:image/webp;base64,{base64.b64encode(buffer.getvalue()).decode()})"
        )
        if len(markdown) < INLINE_MARKDOWN_LIMIT:
            return markdown
    return None
