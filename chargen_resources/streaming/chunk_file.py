"""``ChunkFile``: a stream of byte chunks read as a file, for readers that want one.

Pillow decodes from a file: it reads a file's first bytes a few times while it finds the
format, then reads on to the end. Over a stored object's chunks (`BlobStore.iter_bytes`) this
gives it one without holding the bytes: the first ``head`` bytes are kept for those looks back,
and beyond them only what the reader has not yet consumed of the last chunk.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

DEFAULT_HEAD = 64 * 1024  # far more than Pillow rereads (a format's signature and header)


class ChunkFile(io.RawIOBase):
    """Read-only; past its head, forward-only: a seek back there raises
    `io.UnsupportedOperation` instead of reading the wrong bytes."""

    def __init__(self, chunks: Iterable[bytes], head: int = DEFAULT_HEAD) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._head_limit = head
        self._head = bytearray()  # stream bytes [0, len(head))
        self._rest = bytearray()  # stream bytes [pulled - len(rest), pulled), past the head
        self._pulled = 0
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    @property
    def _rest_start(self) -> int:
        return max(self._head_limit, self._pulled - len(self._rest))

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._position + offset
        else:
            raise io.UnsupportedOperation("a stream of chunks has no known end to seek from")
        if target < 0 or self._head_limit <= target < self._rest_start:
            raise io.UnsupportedOperation(f"cannot seek back to byte {target} of a stream")
        self._position = target
        return target

    def readinto(self, buffer: Any) -> int:
        """Fills `buffer` whole unless the stream ends first (Pillow takes a short read for
        the end of the file)."""
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target):
            data = self._read_at(self._position, len(target) - filled)
            if not data:
                break
            target[filled : filled + len(data)] = data
            filled += len(data)
            self._position += len(data)
        return filled

    def _read_at(self, start: int, wanted: int) -> bytes | bytearray:
        """Up to `wanted` bytes from `start`, within the head or within the rest."""
        if start < self._head_limit:
            end = min(start + wanted, self._head_limit)
            while len(self._head) < end and self._pull():
                pass
            return self._head[start:end]
        if start < self._rest_start:
            raise io.UnsupportedOperation(f"cannot read back at byte {start} of a stream")
        self._forget_before(start)
        while self._pulled < start + wanted and self._pull():
            self._forget_before(start)
        offset = start - self._rest_start
        return self._rest[offset : offset + wanted]

    def _forget_before(self, position: int) -> None:
        """Drop the bytes the reader has moved past: memory stays about one chunk."""
        drop = min(max(0, position - self._rest_start), len(self._rest))
        if drop:
            del self._rest[:drop]

    def _pull(self) -> bool:
        for chunk in self._chunks:
            if not chunk:
                continue
            room = max(0, self._head_limit - len(self._head))
            self._head += chunk[:room]
            self._rest += chunk[room:]
            self._pulled += len(chunk)
            return True
        return False
