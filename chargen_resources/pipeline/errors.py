"""A stage-stopping error, told as what failed and what to do (never a bare traceback)."""

from __future__ import annotations

import errno

import httpx2
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
from google.genai import errors as genai_errors

from chargen_resources.characters.prompt_template import TemplateError
from chargen_resources.gemini.batch_jobs import BatchOutputUnavailable
from chargen_resources.inbox.sources import InboxError
from chargen_resources.inbox.style_spec import StyleSpecError
from chargen_resources.pipeline.style_stage import StyleError
from chargen_resources.streaming.errors import GeminiApiError, StreamingError, StreamTimeoutError

# The user's own input refused, already worded (the file, the cause, what to do) and before
# anything was sent for it: told as it is, without the re-run advice.
INPUT_REFUSED = StyleError | StyleSpecError | TemplateError

RERUN = (
    "Nothing paid for is lost: re-running the same characters reattaches to any batch job "
    "already submitted and keeps every result already stored"
)


def explain(error: BaseException) -> str:
    """The cause in a user's words, what to do about it, and that nothing paid for is lost."""
    told = in_words(error)
    if _key_refused(error) or isinstance(error, BatchOutputUnavailable | INPUT_REFUSED):
        return told
    return f"{told} {RERUN}"


def _key_refused(error: BaseException) -> bool:
    """Gemini refused the key (the SDK's error or the streaming client's): nothing was sent."""
    return isinstance(error, genai_errors.APIError | GeminiApiError) and error.code in (401, 403)


def never_sent(error: BaseException) -> bool:
    """Whether the request certainly never left: no connection to Gemini was made (a name
    that does not resolve, a refused connection), so nothing can have been billed."""
    return isinstance(error, httpx2.ConnectError)


def in_words(error: BaseException) -> str:
    """The cause in a user's words, and what to do about it."""
    if isinstance(error, genai_errors.APIError | GeminiApiError):
        # The SDK's (batch calls, retried) and chargen's own streaming client's (interactive).
        retried = ", after every retry" if isinstance(error, genai_errors.APIError) else ""
        code = error.code or 0
        detail = f"Gemini answered {code} {error.status or ''}: {error.message or ''}".strip()
        if _key_refused(error):
            return f"{detail}. Check GEMINI_API_KEY (and GEMINI_BASE_URL if set)"
        if code == 429:
            return f"{detail}. The project's quota is used up for now; wait, then re-run."
        if code >= 500:
            return f"{detail}{retried}. The service is in trouble; re-run later."
        return f"{detail}."
    if isinstance(error, StreamTimeoutError):
        return f"{error}; re-run, or raise the gemini resource's request_timeout_seconds."
    if isinstance(error, StreamingError):
        return f"{error}."
    if isinstance(error, httpx2.TransportError | ConnectionError | TimeoutError):
        return (
            f"Gemini could not be reached ({type(error).__name__}: {error}). Check the "
            "network (and GEMINI_BASE_URL if set), then re-run."
        )
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials were found for S3 (CHARGEN_STORAGE or CHARGEN_INBOX is an "
            "s3:// location). Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, "
            "or give the machine a role), and CHARGEN_S3_ENDPOINT_URL for an S3-compatible "
            "server, then re-run."
        )
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return (
            f"the storage refused a request ({info.get('Code')}: {info.get('Message')}). Check "
            "CHARGEN_STORAGE and CHARGEN_INBOX, the bucket and the credentials' permissions, then "
            "re-run."
        )
    if isinstance(error, BotoCoreError):
        return (
            f"the storage could not be reached ({error}). Check CHARGEN_STORAGE, CHARGEN_INBOX "
            "and CHARGEN_S3_ENDPOINT_URL, and that the endpoint is up, then re-run."
        )
    if isinstance(error, BatchOutputUnavailable | InboxError | INPUT_REFUSED):
        return str(error).rstrip(".") + "."  # worded where it was raised
    if isinstance(error, PermissionError):
        return f"a file could not be written or read ({error}); check its permissions."
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return f"a file could not be written ({error}); free some disk space."
    if isinstance(error, OSError):
        return f"a file could not be written or read ({error})."
    return f"unexpected {type(error).__name__}: {error}."
