"""GoogleGenAIApiAdapter against a real genai.Client (no request is sent)."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import types

from chargen_resources.streaming import GoogleGenAIApiAdapter


def test_url_and_headers_follow_the_client_options() -> None:
    client = genai.Client(
        api_key="secret-key",
        http_options=types.HttpOptions(
            base_url="http://127.0.0.1:9/prefix/", api_version="v1beta", headers={"X-Custom": "1"}
        ),
    )
    target = GoogleGenAIApiAdapter(client).request_target(
        "gemini-3-pro-image-preview", "streamGenerateContent", "alt=sse"
    )
    assert target.url == (
        "http://127.0.0.1:9/prefix/v1beta/models/gemini-3-pro-image-preview:streamGenerateContent?alt=sse"
    )
    assert target.headers["x-goog-api-key"] == "secret-key"
    assert target.headers["X-Custom"] == "1"
    assert target.headers["user-agent"].startswith("google-genai-sdk/")


def test_default_base_url_version_and_model_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    adapter = GoogleGenAIApiAdapter(genai.Client(api_key="k"))
    target = adapter.request_target(
        "models/gemini-2.5-flash-image", "streamGenerateContent", "alt=sse"
    )
    assert target.url == (
        "https://generativelanguage.googleapis.com/v1/models/gemini-2.5-flash-image:streamGenerateContent?alt=sse"
    )
    assert adapter.http_client() is not None  # the SDK's own httpx2 client is reused


def test_invalid_model_is_refused_by_the_sdk_rules() -> None:
    adapter = GoogleGenAIApiAdapter(genai.Client(api_key="k"))
    with pytest.raises(ValueError):
        adapter.request_target("../admin", "streamGenerateContent")


def test_get_resource_returns_fields_the_sdk_drops(genai_client: genai.Client) -> None:
    job = genai_client.batches.create(
        model="gemini-2.5-flash",
        src=[
            types.InlinedRequest(
                contents=[types.Content(parts=[types.Part(text="hi")], role="user")]
            )
        ],
    )
    assert job.name is not None
    raw = GoogleGenAIApiAdapter(genai_client).get_resource(job.name)
    assert raw["name"] == job.name
    assert "batchStats" in raw["metadata"]


def test_download_target_is_the_sdk_download_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL and auth `client.files.download` sends (wire reference, section 2.2)."""
    for name in ("GOOGLE_GEMINI_BASE_URL", "GOOGLE_GENAI_API_VERSION", "GOOGLE_GENAI_USE_VERTEXAI"):
        monkeypatch.delenv(name, raising=False)
    adapter = GoogleGenAIApiAdapter(genai.Client(api_key="secret-key"))
    for name in ("files/batch-abc", "batch-abc"):
        target = adapter.download_target(name, server_timeout=3600)
        assert target.url == (
            "https://generativelanguage.googleapis.com/v1/files/batch-abc:download?alt=media"
        )
        assert target.headers["x-goog-api-key"] == "secret-key"
        assert target.headers["X-Server-Timeout"] == "3600"
    custom = genai.Client(
        api_key="k",
        http_options=types.HttpOptions(base_url="http://127.0.0.1:9/gem/", api_version="v1beta"),
    )
    assert GoogleGenAIApiAdapter(custom).download_target("files/xyz").url == (
        "http://127.0.0.1:9/gem/v1beta/files/xyz:download?alt=media"
    )


def test_a_request_target_prints_without_its_headers() -> None:
    from chargen_resources.streaming import RequestTarget

    target = RequestTarget(url="https://example.test/v1", headers={"x-goog-api-key": "AIza-SECRET"})
    assert "AIza-SECRET" not in repr(target) and "example.test" in repr(target)
