"""One PNG of the whole cast: each character as a captioned tile, in a grid.

A character without an image gets a tile that says why: "failed" on red (the reason is in the
catalog and the gallery) or "pending" on grey, so the sheet never hides a missing character.
"""

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
FAILED = (150, 40, 40)
PENDING = (80, 80, 86)


def render_contact_sheet(
    images: Mapping[str, bytes | None], status: Mapping[str, str] | None = None
) -> bytes:
    """The cast in name order. `images` maps each character to its picture (PNG or JPEG bytes;
    None when it has none), `status` to "failed" or "pending" where that is the case."""
    names = sorted(images)
    status = status or {}
    columns = max(1, min(MAX_COLUMNS, math.ceil(math.sqrt(len(names)))))
    rows = max(1, math.ceil(len(names) / columns))
    sheet = Image.new("RGB", (columns * TILE, rows * (TILE + CAPTION)), BACKGROUND)
    pen = ImageDraw.Draw(sheet)
    for index, name in enumerate(names):
        left, top = (index % columns) * TILE, (index // columns) * (TILE + CAPTION)
        picture = images[name]
        if picture is not None:
            with Image.open(io.BytesIO(picture)) as image:
                tile = image.convert("RGB")
                tile.thumbnail((TILE - 8, TILE - 8))
                sheet.paste(
                    tile, (left + (TILE - tile.width) // 2, top + (TILE - tile.height) // 2)
                )
        else:
            state = status.get(name, "pending")
            colour = FAILED if state == "failed" else PENDING
            pen.rectangle((left + 8, top + 8, left + TILE - 8, top + TILE - 8), fill=colour)
            pen.text((left + 20, top + TILE // 2 - 6), state.upper(), fill=TEXT)
        pen.text((left + 6, top + TILE + 4), name[:28], fill=TEXT)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
