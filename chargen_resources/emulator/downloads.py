"""How a generated file's bytes travel on a download: the asked range, the pace, a cut.

Pure helpers for ``files_api.download_file``: which span of the file a ``Range`` header asks
for, a body paced to a bandwidth (``download_bytes_per_second``) and the counter of downloads
still to cut midway (``cut_downloads``), one per running emulator.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from chargen_resources.emulator.wire import ApiError

BODY_CHUNK = 64 * 1024  # small enough to pace smoothly, large enough to cost nothing
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@dataclass(frozen=True, slots=True)
class Span:
    """Bytes ``start`` to ``end`` (exclusive) of a file of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def partial(self) -> bool:
        return (self.start, self.end) != (0, self.size)

    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def requested_span(range_header: str | None, size: int) -> Span:
    """The span a single ``bytes=N-[M]`` range asks for; anything else is the whole file
    (RFC 9110 lets a server ignore a Range it does not support)."""
    whole = Span(0, size, size)
    found = _RANGE.fullmatch((range_header or "").strip())
    if found is None:
        return whole
    start = int(found.group(1))
    end = min(int(found.group(2)) + 1, size) if found.group(2) else size
    if start >= size or end <= start:
        raise ApiError(416, f"Requested range not satisfiable: {range_header} of {size} bytes.")
    return Span(start, end, size)


def file_chunks(path: Path, span: Span, chunk: int = BODY_CHUNK) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(span.start)
        left = span.end - span.start
        while left > 0 and (piece := handle.read(min(chunk, left))):
            left -= len(piece)
            yield piece


def paced(
    chunks: Iterator[bytes],
    bytes_per_second: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[bytes]:
    """The same chunks, never faster than ``bytes_per_second`` on average (0: unpaced)."""
    if not bytes_per_second:
        yield from chunks
        return
    began = clock()
    sent = 0
    for piece in chunks:
        ahead = began + sent / bytes_per_second - clock()
        if ahead > 0:
            sleep(ahead)  # the emulated link's speed, not a wait for another thread
        yield piece
        sent += len(piece)


def truncated(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """The first ``limit`` bytes of the chunks: a body the server then abandons."""
    left = limit
    for piece in chunks:
        if left <= 0:
            return
        yield piece[:left]
        left -= len(piece)


class DownloadCuts:
    """How many downloads are still to be cut midway (``cut_downloads``), for one emulator."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True
