"""A small drawing enlarged by a whole factor, as PNG, without the enlarged picture ever existing.

The emulator draws on a small canvas and answers with it enlarged by nearest neighbour. Enlarged
first and then saved, every output pixel is filtered and compressed (Pillow tries every PNG
filter on every row): most of an answer's time at 1K, and a 48 MB picture in memory at 4K. Here
the canvas is only widened; each of its rows is written once, and the rows repeating it below
are written with PNG's "Up" filter, which makes them all zeros: the same pixels, a fraction of
the work.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

from PIL import Image

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {"RGB": 2, "RGBA": 6}
_FILTER_NONE = b"\x00"
_FILTER_UP = b"\x02"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _scanlines(widened: Image.Image, repeat: int) -> Iterator[bytes]:
    """Each row of `widened` once, then `repeat - 1` rows that say "the same as above"."""
    stride = widened.width * len(widened.getbands())
    pixels = widened.tobytes()
    same_as_above = (_FILTER_UP + bytes(stride)) * (repeat - 1)
    for start in range(0, len(pixels), stride):
        yield _FILTER_NONE + pixels[start : start + stride] + same_as_above


def enlarged_png(image: Image.Image, size: tuple[int, int], compress_level: int) -> bytes | None:
    """PNG bytes of `image` resized to `size` by nearest neighbour (the same pixels as
    `image.resize(size, Image.Resampling.NEAREST)` saved as PNG); None when the height is not
    a whole multiple of the image's, the mode is not RGB(A), or the image carries a colour key
    or profile (chunks this writer does not write)."""
    width, height = size
    if (
        image.mode not in _COLOUR_TYPES
        or width < 1
        or height < 1
        or height % image.height
        or {"transparency", "icc_profile"} & image.info.keys()
    ):
        return None
    widened = image.resize((width, image.height), Image.Resampling.NEAREST)
    compressor = zlib.compressobj(compress_level)
    compressed = [compressor.compress(line) for line in _scanlines(widened, height // image.height)]
    compressed.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[image.mode], 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(compressed))
        + _chunk(b"IEND", b"")
    )
