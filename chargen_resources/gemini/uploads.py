"""Upload reference images once and reuse them by content hash while the service keeps them."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from google import genai
from google.genai import errors, types

from chargen_resources.gemini.ledger import Ledger, UploadRecord
from chargen_resources.streaming.ahead import worked_ahead

# A file that expires within this margin could vanish while a batch job still needs it.
REUSE_MARGIN = timedelta(hours=26)
# Uploads (or checks that an upload is still there) at once: each is a round trip of a few
# hundred milliseconds to Google, so 10,000 sketches one at a time would take most of an hour.
UPLOAD_THREADS = 8
# A file this cache uploaded, or found still on the service, is used again within this many
# seconds without asking the service once more: within one run the image job's references are
# the sketches the analysis job sent minutes before, and asking about each again cost a round
# trip per character. Only another run's job end could delete one meanwhile (a job deletes no
# upload a live job uses), as it could between any check and a job's creation; a batch line
# whose file is gone fails, and is sent again, uploaded anew, when its character is re-run.
TRUSTED_FOR_SECONDS = 10 * 60.0


@dataclass(frozen=True)
class UploadedFile:
    name: str
    uri: str
    mime_type: str
    reused: bool


@dataclass(frozen=True)
class WantedFile:
    """A file a job needs on the service, its bytes read only when its turn comes."""

    sha256: str  # of the bytes: the same content goes up once, whoever else wants it
    read: Callable[[], bytes]
    mime_type: str
    display_name: str


@dataclass
class UploadCache:
    """One per run: what it has confirmed is trusted for TRUSTED_FOR_SECONDS."""

    client: genai.Client
    ledger: Ledger
    clock: Callable[[], float] = time.monotonic
    # By sha256: the file as this cache last uploaded or found it, and when (`clock` seconds).
    _confirmed: dict[str, tuple[UploadedFile, float]] = field(default_factory=dict, init=False)

    def ensure_all(self, wanted: Iterable[WantedFile]) -> dict[str, UploadedFile]:
        """Every distinct content of `wanted` on the service, by sha256 (the first one's name
        is its display name), several at a time; an error is raised once the files before it
        are done."""
        distinct: dict[str, WantedFile] = {}
        for file in wanted:
            distinct.setdefault(file.sha256, file)
        files = worked_ahead(self._ensure, distinct.values(), threads=UPLOAD_THREADS, name="upload")
        return dict(zip(distinct, files, strict=True))

    def _ensure(self, file: WantedFile) -> UploadedFile:
        """The file's upload, reused while the service keeps it (its bytes are then not even
        read), else uploaded now."""
        confirmed = self._confirmed.get(file.sha256)
        if confirmed is not None and self.clock() - confirmed[1] < TRUSTED_FOR_SECONDS:
            return replace(confirmed[0], reused=True)
        ensured = self._reused_or_uploaded(file)
        self._confirmed[file.sha256] = (ensured, self.clock())
        return ensured

    def _reused_or_uploaded(self, file: WantedFile) -> UploadedFile:
        known = self.ledger.find_upload(file.sha256)
        if known is not None and self._still_usable(known):
            return UploadedFile(known.file_name, known.uri, known.mime_type, reused=True)
        uploaded = self.client.files.upload(
            file=io.BytesIO(file.read()),
            config=types.UploadFileConfig(
                mime_type=file.mime_type, display_name=file.display_name[:500]
            ),
        )
        if uploaded.name is None or uploaded.uri is None:
            raise RuntimeError(f"the Files API returned no name or uri for {file.display_name!r}")
        self.ledger.save_upload(
            UploadRecord(
                sha256=file.sha256,
                file_name=uploaded.name,
                uri=uploaded.uri,
                mime_type=file.mime_type,
                expires_at=uploaded.expiration_time,
            )
        )
        return UploadedFile(uploaded.name, uploaded.uri, file.mime_type, reused=False)

    def _still_usable(self, record: UploadRecord) -> bool:
        if record.expires_at is not None and record.expires_at - REUSE_MARGIN < datetime.now(UTC):
            return False
        try:
            remote = self.client.files.get(name=record.file_name)
        except errors.ClientError as error:
            if error.code in (403, 404):
                self.ledger.forget_upload(record.sha256)
                return False
            raise
        return remote.state is None or remote.state.name == "ACTIVE"
