"""The contact sheet: every character a tile, the missing ones marked instead of left out."""

from __future__ import annotations

import io

from PIL import Image

from chargen_resources.characters.contact_sheet import (
    CAPTION,
    FAILED,
    PENDING,
    TILE,
    render_contact_sheet,
)


def _png(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 200), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_failed_and_pending_characters_get_marked_tiles() -> None:
    pictures = {"ash": _png((0, 0, 250)), "blocked": None, "new": None}
    sheet = render_contact_sheet(pictures, pictures.get, {"blocked": "failed", "new": "pending"})
    with Image.open(io.BytesIO(sheet)) as image:
        assert image.size == (2 * TILE, 2 * (TILE + CAPTION))
        assert image.getpixel((TILE // 2, TILE // 2)) == (0, 0, 250)  # ash's picture
        assert image.getpixel((TILE + 12, 12)) == FAILED  # "blocked", second tile
        assert image.getpixel((12, TILE + CAPTION + 12)) == PENDING  # "new", third tile
