"""Stage-stopping errors in a user's words."""

from __future__ import annotations

import httpx2
from botocore.exceptions import ClientError, EndpointConnectionError
from google.genai import errors

from chargen_resources.pipeline.errors import explain, in_words


def test_gemini_errors_say_what_to_check() -> None:
    denied = errors.ClientError(
        403, {"error": {"message": "API key not valid", "status": "PERMISSION_DENIED"}}
    )
    assert "GEMINI_API_KEY" in explain(denied) and "403" in explain(denied)
    quota = errors.ClientError(429, {"error": {"message": "quota", "status": "RESOURCE_EXHAUSTED"}})
    assert "quota" in explain(quota) and "reattaches" in explain(quota)
    down = errors.ServerError(503, {"error": {"message": "overloaded", "status": "UNAVAILABLE"}})
    assert "re-run later" in explain(down)


def test_unreachable_services_are_named() -> None:
    gemini = explain(httpx2.ConnectError("Connection refused"))
    assert "Gemini could not be reached" in gemini and "GEMINI_BASE_URL" in gemini
    s3 = explain(EndpointConnectionError(endpoint_url="http://127.0.0.1:1/b"))
    assert "storage could not be reached" in s3 and "CHARGEN_S3_ENDPOINT_URL" in s3
    refused = explain(
        ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutObject")
    )
    assert "AccessDenied" in refused and "permissions" in refused


def test_anything_else_still_says_that_nothing_paid_is_lost() -> None:
    assert "reattaches" in explain(KeyError("x"))


def test_the_interactive_clients_errors_get_the_same_advice_without_claiming_retries() -> None:
    from chargen_resources.streaming import GeminiHttpError
    from chargen_resources.streaming.errors import StreamTimeoutError

    denied = in_words(GeminiHttpError(401, "UNAUTHENTICATED", "API key not valid"))
    assert denied.startswith("Gemini answered 401 UNAUTHENTICATED") and "GEMINI_API_KEY" in denied
    busy = in_words(GeminiHttpError(503, "UNAVAILABLE", "overloaded"))
    assert "re-run later" in busy and "retry" not in busy  # the stream is sent once
    slow = in_words(StreamTimeoutError("the request ran past 300 s"))
    assert "request_timeout_seconds" in slow and "unexpected" not in slow


def test_file_errors_say_which_remedy_fits() -> None:
    import errno

    assert "permissions" in in_words(PermissionError(13, "Permission denied", "/inbox/a.png"))
    assert "disk space" in in_words(OSError(errno.ENOSPC, "No space left on device"))
    other = in_words(OSError(errno.EIO, "Input/output error"))
    assert "disk space" not in other and "permissions" not in other


def test_chargens_own_worded_refusals_are_told_as_they_are() -> None:
    from chargen_resources.inbox.sources import InboxError
    from chargen_resources.pipeline.style_stage import StyleError

    refused = StyleError("the inbox has a _style/ folder but cast_style has not been read")
    assert explain(refused) == "the inbox has a _style/ folder but cast_style has not been read."
    assert "unexpected" not in explain(InboxError("inbox /x does not exist; create it"))
    assert in_words(InboxError("inbox /x does not exist; create it.")) == (
        "inbox /x does not exist; create it."
    )
