"""One PNG of the whole cast: each character's image as a captioned tile, in a grid."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

from PIL import Image, ImageDraw

TILE = 192  # pixels per tile side; the image is fitted inside, keeping its proportions
CAPTION = 20  # pixels under each tile for the character's name
MAX_COLUMNS = 8
BACKGROUND = (32, 32, 36)
TEXT = (235, 235, 235)


def render_contact_sheet(images: Mapping[str, bytes]) -> bytes:
    """The cast in name order; `images` maps character names to PNG bytes."""
    names = sorted(images)
    columns = max(1, min(MAX_COLUMNS, math.ceil(math.sqrt(len(names)))))
    rows = max(1, math.ceil(len(names) / columns))
    sheet = Image.new("RGB", (columns * TILE, rows * (TILE + CAPTION)), BACKGROUND)
    pen = ImageDraw.Draw(sheet)
    for index, name in enumerate(names):
        left, top = (index % columns) * TILE, (index // columns) * (TILE + CAPTION)
        with Image.open(io.BytesIO(images[name])) as image:
            tile = image.convert("RGB")
            tile.thumbnail((TILE - 8, TILE - 8))
            sheet.paste(tile, (left + (TILE - tile.width) // 2, top + (TILE - tile.height) // 2))
        pen.text((left + 6, top + TILE + 4), name[:28], fill=TEXT)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
