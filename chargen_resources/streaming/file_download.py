"""``FileDownloadClient``: a Files API download handed on chunk by chunk as it arrives.

``client.files.download`` either buffers the whole body in memory or writes it to a file; a
batch output is gigabytes, so we send the same request (the adapter builds its URL and auth
headers from the SDK's own configuration) and yield the body as it comes. A download picks up
where an earlier one stopped: it asks ``Range: bytes=N-`` and, when the service answers with
the whole file instead (200), drops the first N bytes itself, so the reader always sees one
unbroken stream of the file's bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chargen_resources.streaming.api_adapter import GeminiApiAdapter
from chargen_resources.streaming.errors import GeminiProtocolError
from chargen_resources.streaming.streaming_client import http_client_for, http_error

if TYPE_CHECKING:
    from httpx2 import Client as HttpClient

DEFAULT_STALL_SECONDS = 120.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


@dataclass
class DownloadProgress:
    """What one reading has had of a file: bytes handed on, and the file's size once known."""

    delivered: int = 0
    size: int | None = None


@dataclass(frozen=True, slots=True)
class BodyStart:
    """Where a response's body starts in the file, and the file's size when it says so."""

    offset: int
    size: int | None


def resume_headers(offset: int) -> dict[str, str]:
    """Ask for the rest of the file from ``offset``, unencoded so offsets are the file's bytes."""
    if not offset:
        return {}
    return {"Range": f"bytes={offset}-", "Accept-Encoding": "identity"}


def body_start(status: int, headers: Mapping[str, str]) -> BodyStart:
    """Read a 200 or 206 response's framing: a 206 starts where its ``Content-Range`` says."""
    if status == 206:
        found = _CONTENT_RANGE.fullmatch(headers.get("content-range", "").strip())
        if found is None:
            raise GeminiProtocolError(
                f"a 206 answer without a usable Content-Range ({headers.get('content-range')!r})"
            )
        total = found.group(3)
        return BodyStart(int(found.group(1)), None if total == "*" else int(total))
    encoded = headers.get("content-encoding", "identity").lower() != "identity"
    length = headers.get("content-length")
    return BodyStart(0, int(length) if length and not encoded else None)


def check_continues(start: BodyStart, progress: DownloadProgress) -> int:
    """How many leading body bytes to drop so the stream continues at ``progress.delivered``;
    refuses a body that starts past it or a file whose size changed between attempts."""
    if start.offset > progress.delivered:
        raise GeminiProtocolError(
            f"the service resumed at byte {start.offset}, past byte {progress.delivered}"
        )
    if start.size is not None and progress.size is not None and start.size != progress.size:
        raise GeminiProtocolError(
            f"the file was {progress.size} bytes and is now {start.size}: it changed mid-read"
        )
    return progress.delivered - start.offset


def skip_bytes(chunks: Iterable[bytes], count: int) -> Iterator[bytes]:
    """The chunks without their first ``count`` bytes."""
    left = count
    for chunk in chunks:
        if left >= len(chunk):
            left -= len(chunk)
            continue
        yield chunk[left:] if left else chunk
        left = 0


class FileDownloadClient:
    """One download per ``read`` call, through the SDK's HTTP client when it has one."""

    def __init__(self, adapter: GeminiApiAdapter, http_client: HttpClient | None = None) -> None:
        self._adapter = adapter
        self._http_client = http_client

    def read(
        self,
        file_name: str,
        progress: DownloadProgress,
        server_timeout: float | None = None,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
    ) -> Iterator[bytes]:
        """The file's bytes from ``progress.delivered`` on, counted into ``progress`` as they
        are handed on. A non-2xx answer raises ``GeminiHttpError``; a cut or a connection
        silent for ``stall_seconds`` raises httpx2's ``TransportError``: the caller decides
        whether to read again with the same ``progress``."""
        import httpx2

        target = self._adapter.download_target(file_name, server_timeout)
        headers = {**target.headers, **resume_headers(progress.delivered)}
        client, owned = http_client_for(self._adapter, self._http_client)
        try:
            with client.stream(
                "GET", target.url, headers=headers, timeout=httpx2.Timeout(stall_seconds)
            ) as response:
                if response.status_code not in (200, 206):
                    raise http_error(response, file_name)
                start = body_start(response.status_code, response.headers)
                skip = check_continues(start, progress)
                progress.size = progress.size if start.size is None else start.size
                for chunk in skip_bytes(response.iter_bytes(), skip):  # as it arrives
                    progress.delivered += len(chunk)
                    yield chunk
        finally:
            if owned:
                client.close()
