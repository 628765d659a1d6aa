"""The cast on PNG sheets: each character as a captioned tile, in a grid, 400 to a sheet.

A character without an image gets a tile that says why: "failed" on red (the reason is in the
catalog and the gallery) or "pending" on grey, so the sheet never hides a missing character.

A sheet can carry what it was drawn from (`drawn_from`, a PNG text chunk at the start of the file):
whoever wrote the sheet last, its own bytes say whether it is still the one to show, so a sheet
whose characters are as they were is kept without trusting any other record.

A sheet is drawn one row of tiles at a time and encoded as it goes (PNG's Sub filter, made by
Pillow, and a zlib stream): memory stays a few rows of tiles, not the 49 MB of a full sheet's
pixels. Rows are drawn by two threads while the caller's thread encodes the ones before them
(Pillow and zlib release the GIL), and their pictures are read by I/O threads ahead of both.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from typing import TypeVar

from PIL import Image, ImageChops, ImageDraw

from chargen_resources.storage.blob_store import BlobNotFoundError, BlobStore
from chargen_resources.streaming.ahead import worked_ahead

TILE = 192  # pixels per tile side; the image is fitted inside, keeping its proportions
CAPTION = 20  # pixels under each tile for the character's name
MAX_COLUMNS = 20
# Characters per sheet: 20 x 20 tiles (3,840 x 4,240 pixels) is a picture any viewer opens; a
# 10,000-character cast on one sheet would be a PNG hundreds of thousands of pixels tall.
SHEET_CHARACTERS = MAX_COLUMNS * MAX_COLUMNS
DRAWING_THREADS = 2
ROWS_AHEAD = 4  # rows drawn ahead of the encoder: memory is a handful of rows
# zlib's fastest level: a 10,000-character cast's sheets are over a gigabyte of pixels, and
# at level 6 (Pillow's default) that alone took longer than the rest of the catalog.
COMPRESS_LEVEL = 1
BACKGROUND = (32, 32, 36)
TEXT = (235, 235, 235)
FAILED = (150, 40, 40)
PENDING = (80, 80, 86)
DRAWN_FROM = b"chargen-drawn-from"  # the text chunk's keyword
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEAD_BYTES = 4096  # the signature, the header and the text chunk fit well within this

Item = TypeVar("Item")


def sheet_pages(characters: Iterable[str]) -> list[list[str]]:
    """The cast in name order, one sheet's worth at a time (always at least one sheet)."""
    return list(in_pages(sorted(characters)))


def in_pages(items: Iterable[Item]) -> Iterator[list[Item]]:
    """`items` one sheet's worth at a time, each page as soon as its items have come (always
    at least one page: an empty cast gets its empty sheet)."""
    page: list[Item] = []
    paged = False
    for item in items:
        page.append(item)
        if len(page) == SHEET_CHARACTERS:
            yield page
            page, paged = [], True
    if page or not paged:
        yield page


def sheet_name(first: str, page: int) -> str:
    """The file name of sheet `page` (from 1): the first keeps `first`, the next are numbered
    after it ("cast.png", "cast-002.png", ...)."""
    if page == 1:
        return first
    stem, dot, ext = first.rpartition(".")
    return f"{stem}-{page:03d}{dot}{ext}" if dot else f"{first}-{page:03d}"


def store_sheets(store: BlobStore, first_key: str, sheets: Iterable[bytes | None]) -> list[str]:
    """Write the cast's sheets as `first_key` and the numbered keys after it (None: that sheet
    is already stored as it should be), and delete the ones an earlier, larger cast left
    beyond them; returns the sheets' keys, in order."""
    keys = []
    for page, sheet in enumerate(sheets, start=1):
        keys.append(sheet_name(first_key, page))
        if sheet is not None:
            store.put_bytes(keys[-1], sheet, "image/png")
    page = len(keys) + 1
    while store.exists(stale := sheet_name(first_key, page)):
        store.delete(stale)
        page += 1
    return keys


def stored_drawn_from(store: BlobStore, key: str) -> str | None:
    """What the sheet stored at `key` was drawn from (None: no sheet there, or one without it);
    reads only the start of the file."""
    try:
        chunks = store.iter_bytes(key, _HEAD_BYTES)
    except BlobNotFoundError:
        return None
    with closing(chunks) as reading:
        head = next(reading, b"")
    return drawn_from_of(head)


def drawn_from_of(head: bytes) -> str | None:
    """The `drawn_from` text in the first bytes of a sheet's PNG, if it has one."""
    if not head.startswith(_SIGNATURE):
        return None
    offset = len(_SIGNATURE)
    while offset + 8 <= len(head):
        (length,) = struct.unpack(">I", head[offset : offset + 4])
        kind = head[offset + 4 : offset + 8]
        data = head[offset + 8 : offset + 8 + length]
        if kind == b"IDAT" or len(data) < length:
            return None  # the text chunk comes before the pixels
        keyword, _, text = data.partition(b"\0")
        if kind == b"tEXt" and keyword == DRAWN_FROM:
            return text.decode("latin-1")
        offset += 12 + length
    return None


def render_contact_sheet(
    characters: Iterable[str],
    picture: Callable[[str], bytes | None],
    status: Mapping[str, str] | None = None,
    drawn_from: str | None = None,
    readers: int = 2,
) -> bytes:
    """The cast in name order. `picture` gives a character's picture (PNG or JPEG bytes; None
    when it has none), asked for one character at a time, rows ahead of the drawing, by
    `readers` threads at once (it must be safe to call so); `status` says
    "failed" or "pending" where that is the case; `drawn_from` is kept in the file."""
    names = sorted(characters)
    status = status or {}
    columns = max(1, min(MAX_COLUMNS, math.ceil(math.sqrt(len(names)))))
    rows = max(1, math.ceil(len(names) / columns))

    def fetch(row: int) -> list[tuple[str, bytes | None]]:
        return [(name, picture(name)) for name in names[row * columns : (row + 1) * columns]]

    def draw(row: list[tuple[str, bytes | None]]) -> Image.Image:
        strip = Image.new("RGB", (columns * TILE, TILE + CAPTION), BACKGROUND)
        pen = ImageDraw.Draw(strip)
        for column, (name, tile) in enumerate(row):
            _draw_tile(strip, pen, column * TILE, name, tile, status)
        return strip

    text = {DRAWN_FROM: drawn_from.encode("latin-1")} if drawn_from else {}
    # Pictures are read by I/O threads, rows ahead of the drawing: a read that waits on a cold
    # disk or a round trip to S3 then holds up no drawing thread.
    fetched = worked_ahead(fetch, range(rows), threads=readers, name="contact-sheet-read")
    strips = worked_ahead(
        draw, fetched, threads=DRAWING_THREADS, depth=ROWS_AHEAD, name="contact-sheet"
    )
    return _encode_png(columns * TILE, rows * (TILE + CAPTION), strips, text)


def _draw_tile(
    strip: Image.Image,
    pen: ImageDraw.ImageDraw,
    left: int,
    name: str,
    picture: bytes | None,
    status: Mapping[str, str],
) -> None:
    if picture is not None:
        with Image.open(io.BytesIO(picture)) as image:
            tile = image.convert("RGB")
            # Bilinear, shrinking by whole factors first: a third faster per tile than the
            # default, and a tile is a glance, not the picture.
            tile.thumbnail((TILE - 8, TILE - 8), Image.Resampling.BILINEAR, reducing_gap=2.0)
            strip.paste(tile, (left + (TILE - tile.width) // 2, (TILE - tile.height) // 2))
    else:
        state = status.get(name, "pending")
        colour = FAILED if state == "failed" else PENDING
        pen.rectangle((left + 8, 8, left + TILE - 8, TILE - 8), fill=colour)
        pen.text((left + 20, TILE // 2 - 6), state.upper(), fill=TEXT)
    pen.text((left + 6, TILE + 4), name[:28], fill=TEXT)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _encode_png(
    width: int, height: int, strips: Iterable[Image.Image], text: Mapping[bytes, bytes]
) -> bytes:
    """An 8-bit RGB PNG from horizontal strips (top to bottom), one strip in memory at a time,
    with `text` (keyword: Latin-1 text) before the pixels."""
    out = [
        _SIGNATURE,
        _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
        *(_chunk(b"tEXt", keyword + b"\0" + value) for keyword, value in text.items()),
    ]
    stream = zlib.compressobj(COMPRESS_LEVEL)
    stride = width * 3
    for strip in strips:
        # PNG filter 1 (Sub): each byte minus the same channel of the pixel to its left.
        left = Image.new("RGB", strip.size, (0, 0, 0))
        left.paste(strip.crop((0, 0, strip.width - 1, strip.height)), (1, 0))
        filtered = ImageChops.subtract_modulo(strip, left).tobytes()
        lines = b"".join(
            b"\x01" + filtered[start : start + stride] for start in range(0, len(filtered), stride)
        )
        if packed := stream.compress(lines):
            out.append(_chunk(b"IDAT", packed))
    out.append(_chunk(b"IDAT", stream.flush()))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)
