"""``decode_base64``: base64 text in arbitrary slices to decoded bytes, at C speed.

Generic (not Gemini-specific). Accepts the standard and the URL-safe alphabet (even mixed),
missing padding at the end, padding between independently encoded segments, and ASCII
whitespace anywhere. Anything else raises ``Base64DecodeError`` with the offending position.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Iterator

from chargen_resources.streaming.errors import Base64DecodeError

_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_WHITESPACE = b" \t\r\n\x0b\x0c"
_INVALID = re.compile(rb"[^A-Za-z0-9+/=\s]")
_PADDED_GROUP_END = re.compile(rb"=+")


class _Decoder:
    """Carries the unaligned tail (fewer than 4 characters) from one slice to the next."""

    def __init__(self) -> None:
        self.carry = b""
        self.offset = 0  # characters consumed before ``carry``, for error messages

    def feed(self, text: str | bytes) -> bytes:
        data = self._to_bytes(text)
        if b"-" in data or b"_" in data:
            data = data.translate(_URLSAFE_TO_STANDARD)
        if self.carry:
            data = self.carry + data
        usable = len(data) - len(data) % 4
        try:
            decoded = binascii.a2b_base64(data[:usable], strict_mode=True) if usable else b""
        except binascii.Error:
            return self._feed_slowly(data)
        self.carry = data[usable:]
        self.offset += usable
        return decoded

    def finish(self) -> bytes:
        tail, self.carry = self.carry.translate(None, _WHITESPACE), b""
        if not tail:
            return b""
        invalid = _INVALID.search(tail)
        if invalid:
            raise Base64DecodeError(
                f"character {chr(tail[invalid.start()])!r} is not in the base64 alphabet",
                self.offset + invalid.start(),
            )
        if tail.startswith(b"="):
            raise Base64DecodeError(
                f"{len(tail)} padding character(s) '=' after a complete 4-character group",
                self.offset,
            )
        if len(tail.rstrip(b"=")) == 1:
            raise Base64DecodeError(
                "the input ends with a single dangling character (truncated data?)", self.offset
            )
        return self._decode_group(tail + b"=" * (-len(tail) % 4), self.offset)

    def _to_bytes(self, text: str | bytes) -> bytes:
        if isinstance(text, bytes):
            return text
        try:
            return text.encode("ascii")
        except UnicodeEncodeError as error:
            raise Base64DecodeError(
                f"non-ASCII character {text[error.start]!r}", self.offset + error.start
            ) from None

    def _feed_slowly(self, data: bytes) -> bytes:
        """Rare path: whitespace, padding inside the stream, or invalid characters."""
        start_offset = self.offset
        invalid = _INVALID.search(data)
        if invalid:
            raise Base64DecodeError(
                f"character {chr(data[invalid.start()])!r} is not in the base64 alphabet",
                start_offset + invalid.start(),
            )
        stripped = data.translate(None, _WHITESPACE)
        out: list[bytes] = []
        position = 0
        # Each padded group closes an independently encoded segment; decode segment by segment.
        # A run of '=' that touches the end of what we have may go on in the next slice.
        for padding in _PADDED_GROUP_END.finditer(stripped):
            if padding.end() == len(stripped):
                break
            segment = stripped[position : padding.end()]
            if len(segment) % 4:
                raise Base64DecodeError(
                    "padding '=' in the middle of a 4-character group", start_offset + position
                )
            out.append(self._decode_group(segment, start_offset + position))
            position = padding.end()
        rest = stripped[position:]
        usable = len(rest) - len(rest) % 4
        out.append(self._decode_group(rest[:usable], start_offset + position))
        self.carry = rest[usable:]
        self.offset = start_offset + len(data) - len(self.carry)
        return b"".join(out)

    @staticmethod
    def _decode_group(data: bytes, offset: int) -> bytes:
        try:
            return binascii.a2b_base64(data, strict_mode=True)
        except binascii.Error as error:
            raise Base64DecodeError(str(error), offset) from None


def decode_base64(chunks: Iterable[str | bytes]) -> Iterator[bytes]:
    """Decode base64 arriving in slices of any length; yields non-empty decoded byte slices."""
    decoder = _Decoder()
    for chunk in chunks:
        decoded = decoder.feed(chunk)
        if decoded:
            yield decoded
    tail = decoder.finish()
    if tail:
        yield tail
