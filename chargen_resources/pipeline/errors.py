"""A stage-stopping error, told as what failed and what to do (never a bare traceback)."""

from __future__ import annotations

import httpx2
from botocore.exceptions import BotoCoreError, ClientError
from google.genai import errors as genai_errors

from chargen_resources.gemini.batch_jobs import BatchOutputUnavailable

RERUN = (
    "Nothing paid for is lost: re-running the same characters reattaches to any batch job "
    "already submitted and keeps every result already stored"
)


def explain(error: BaseException) -> str:
    """The cause in a user's words, and what to do about it."""
    if isinstance(error, genai_errors.APIError):
        detail = f"Gemini answered {error.code} {error.status or ''}: {error.message or ''}".strip()
        if error.code in (401, 403):
            return f"{detail}. Check GEMINI_API_KEY (and GEMINI_BASE_URL if set)"
        if error.code == 429:
            return f"{detail}. The project's quota is used up for now; wait, then re-run. {RERUN}"
        if error.code >= 500:
            return f"{detail}, after every retry. The service is in trouble; re-run later. {RERUN}"
        return f"{detail}. {RERUN}"
    if isinstance(error, httpx2.TransportError | ConnectionError | TimeoutError):
        return (
            f"Gemini could not be reached ({type(error).__name__}: {error}), after every retry. "
            f"Check the network (and GEMINI_BASE_URL if set), then re-run. {RERUN}"
        )
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return (
            f"the storage refused a request ({info.get('Code')}: {info.get('Message')}). Check "
            "CHARGEN_STORAGE, the bucket and the credentials' permissions, then re-run. " + RERUN
        )
    if isinstance(error, BotoCoreError):
        return (
            f"the storage could not be reached ({error}). Check CHARGEN_STORAGE and "
            f"CHARGEN_S3_ENDPOINT_URL, and that the endpoint is up, then re-run. {RERUN}"
        )
    if isinstance(error, BatchOutputUnavailable):
        return str(error)
    if isinstance(error, OSError):
        return f"a file could not be written or read ({error}); check free disk space. {RERUN}"
    return f"unexpected {type(error).__name__}: {error}. {RERUN}"
