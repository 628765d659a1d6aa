"""Small inline previews, so a person sees each character in the Dagster UI."""

from __future__ import annotations

import base64
import io

from PIL import Image

THUMBNAIL_SIDE = 160


def thumbnail_markdown(png: bytes, alt: str) -> str:
    """Markdown for a small inline JPEG of `png` (a few KB: light enough for every character)."""
    with Image.open(io.BytesIO(png)) as opened:
        small = opened.convert("RGB")
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE * 2))
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return f"![{alt}](data:image/jpeg;base64,{encoded})"


def thumbnail_bytes(markdown: str | None) -> bytes | None:
    """The JPEG inside a `thumbnail_markdown` string (None when there is none)."""
    if not markdown or "base64," not in markdown:
        return None
    return base64.b64decode(markdown.split("base64,", 1)[1].rstrip(")"))
