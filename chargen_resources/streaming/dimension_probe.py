"""A passthrough transform that finds an image's width, height and format on the way through.

Side channel: ``probe.dimensions`` is filled in as soon as the header is understood (usually in
the first few hundred bytes), else at the end of the stream. PNG, JPEG and WEBP headers are read
by small pure functions; other formats go to Pillow's incremental ``ImageFile.Parser``. At most
``max_probe_bytes`` (256 KB by default) are kept for this, never the whole image.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from PIL import ImageFile

DEFAULT_MAX_PROBE_BYTES = 256 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless...), not DHT/JPG/DAC.
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


@dataclass(frozen=True, slots=True)
class Dimensions:
    width: int
    height: int
    format: str  # "png", "jpeg", "webp", or Pillow's format name in lower case


class _NeedMoreData(Exception):
    """The header is not complete yet."""


def probe_png(head: bytes) -> Dimensions | None:
    if not head.startswith(_PNG_SIGNATURE[: len(head)]):
        return None
    if len(head) < 24:
        raise _NeedMoreData
    if head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return Dimensions(width, height, "png")


def probe_jpeg(head: bytes) -> Dimensions | None:
    if not head.startswith(b"\xff\xd8"[: len(head)]):
        return None
    position = 2
    while True:
        if position + 4 > len(head):
            raise _NeedMoreData
        if head[position] != 0xFF:
            return None
        marker = head[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", head[position + 2 : position + 4])
        if marker in _JPEG_SOF:
            if position + 9 > len(head):
                raise _NeedMoreData
            height, width = struct.unpack(">HH", head[position + 5 : position + 9])
            return Dimensions(width, height, "jpeg")
        position += 2 + length


def probe_webp(head: bytes) -> Dimensions | None:
    if len(head) < 12:
        if b"RIFF".startswith(head[:4]) and (len(head) <= 8 or b"WEBP".startswith(head[8:])):
            raise _NeedMoreData
        return None
    if head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    if len(head) < 30:
        raise _NeedMoreData
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(head[24:27], "little")
        height = 1 + int.from_bytes(head[27:30], "little")
    elif chunk == b"VP8 ":
        width, height = (value & 0x3FFF for value in struct.unpack("<HH", head[26:30]))
    elif chunk == b"VP8L":
        bits = int.from_bytes(head[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    else:
        return None
    return Dimensions(width, height, "webp")


def probe_header(head: bytes) -> Dimensions | None:
    """Dimensions from the first bytes of a PNG, JPEG or WEBP; None when not one of them.

    Raises ``_NeedMoreData`` (internal) when the header could still be completed.
    """
    need_more = False
    for probe in (probe_png, probe_jpeg, probe_webp):
        try:
            found = probe(head)
        except _NeedMoreData:
            need_more = True
            continue
        if found is not None:
            return found
    if need_more:
        raise _NeedMoreData
    return None


def _probe_with_pillow(head: bytes) -> Dimensions | None:
    parser = ImageFile.Parser()
    try:
        parser.feed(head)
    except Exception:  # Pillow raises many kinds of errors on data it cannot read
        return None
    image = parser.image
    if image is None:
        return None
    return Dimensions(image.width, image.height, (image.format or "unknown").lower())


class DimensionProbe:
    """``probe.transform(chunks)`` passes chunks through; ``probe.dimensions`` is the result."""

    def __init__(self, max_probe_bytes: int = DEFAULT_MAX_PROBE_BYTES) -> None:
        self.max_probe_bytes = max_probe_bytes
        self.dimensions: Dimensions | None = None
        self.done = False  # True once the probe has given its final answer
        self._head = bytearray()
        # Probe again only once the head has doubled: tiny chunks (a few bytes each when the
        # input arrives byte by byte) must not make probing quadratic in the header size.
        self._next_probe_at = 0

    def transform(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if not self.done:
                self._look(chunk)
            yield chunk
        if not self.done:
            self._settle()

    def _look(self, chunk: bytes) -> None:
        room = self.max_probe_bytes - len(self._head)
        self._head += chunk[:room]
        full = len(self._head) >= self.max_probe_bytes
        if len(self._head) < self._next_probe_at and not full:
            return
        self._next_probe_at = 2 * len(self._head)
        try:
            found = probe_header(bytes(self._head))
        except _NeedMoreData:
            found = None
        if found is not None:
            self._finish(found)
        elif full:
            self._settle()

    def _settle(self) -> None:
        """End of the probe window or of the stream: our parsers, then Pillow, on what we kept."""
        head = bytes(self._head)
        try:
            found = probe_header(head)
        except _NeedMoreData:
            found = None
        self._finish(found or _probe_with_pillow(head))

    def _finish(self, found: Dimensions | None) -> None:
        self.dimensions = found
        self.done = True
        self._head = bytearray()
