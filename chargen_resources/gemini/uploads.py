"""Upload reference images once and reuse them by content hash while the service keeps them."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from google import genai
from google.genai import errors, types

from chargen_resources.gemini.ledger import Ledger, UploadRecord

# A file that expires within this margin could vanish while a batch job still needs it.
REUSE_MARGIN = timedelta(hours=26)


@dataclass(frozen=True)
class UploadedFile:
    name: str
    uri: str
    mime_type: str
    reused: bool


@dataclass
class UploadCache:
    client: genai.Client
    ledger: Ledger

    def ensure_uploaded(self, data: bytes, mime_type: str, display_name: str) -> UploadedFile:
        sha = hashlib.sha256(data).hexdigest()
        known = self.ledger.find_upload(sha)
        if known is not None and self._still_usable(known):
            return UploadedFile(known.file_name, known.uri, known.mime_type, reused=True)
        uploaded = self.client.files.upload(
            file=io.BytesIO(data),
            config=types.UploadFileConfig(mime_type=mime_type, display_name=display_name[:500]),
        )
        if uploaded.name is None or uploaded.uri is None:
            raise RuntimeError(f"the Files API returned no name or uri for {display_name!r}")
        self.ledger.save_upload(
            UploadRecord(
                sha256=sha,
                file_name=uploaded.name,
                uri=uploaded.uri,
                mime_type=mime_type,
                expires_at=uploaded.expiration_time,
            )
        )
        return UploadedFile(uploaded.name, uploaded.uri, mime_type, reused=False)

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
