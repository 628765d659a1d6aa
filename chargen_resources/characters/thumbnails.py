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
