"""The one place that touches google-genai's private API.

We bypass the SDK's ``generate_content_stream`` because it serialises the whole request body with
``json.dumps`` and parses every response chunk into full objects, and its ``files.download``
because it buffers the whole file in memory or writes it to disk. What we still take from the SDK
is how it builds the URL (base URL, API version, Vertex project path) and the headers (API key,
user agent, custom headers, or an OAuth bearer token for Vertex AI), plus its HTTP client.

Private members used (google-genai 3.4): ``Client._api_client``, ``BaseApiClient._build_request``,
``BaseApiClient._access_token``, ``BaseApiClient._httpx_client``, ``BaseApiClient._httpx_url``,
``_transformers.t_model`` and ``_transformers.t_file_name``.
The adapter tests run against a real ``genai.Client``, so an SDK upgrade that moves them fails
there first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from google import genai
    from httpx2 import Client as HttpClient


@dataclass(frozen=True, slots=True)
class RequestTarget:
    """Where to send a request and with which headers (auth included: never log these)."""

    url: str
    headers: Mapping[str, str] = field(repr=False)


class GeminiApiAdapter(Protocol):
    def request_target(self, model: str, method: str, query: str = "") -> RequestTarget: ...
    def get_resource(self, name: str) -> dict[str, Any]: ...
    def download_target(
        self, file_name: str, server_timeout: float | None = None
    ) -> RequestTarget: ...

    def http_client(self) -> HttpClient | None: ...


class GoogleGenAIApiAdapter:
    """``GeminiApiAdapter`` over a ``genai.Client`` (Gemini Developer API or Vertex AI)."""

    def __init__(self, client: genai.Client) -> None:
        self._client = client  # keep it alive: closing it closes the HTTP client we borrow
        self._api: Any = client._api_client

    def request_target(self, model: str, method: str, query: str = "") -> RequestTarget:
        """URL and headers for ``POST .../{version}/{model}:{method}?{query}``.

        ``model`` may be ``gemini-x`` or ``models/gemini-x`` (Vertex: publisher paths too).
        """
        from google.genai import _transformers

        path = f"{_transformers.t_model(self._api, model)}:{method}"
        if query:
            path = f"{path}?{query}"
        request = self._api._build_request("post", path, {}, None)
        headers = dict(request.headers)
        if (
            self._api.vertexai
            and (self._api.project or self._api.location)
            and not self._api.api_key
        ):
            headers["Authorization"] = f"Bearer {self._api._access_token()}"
        return RequestTarget(url=str(request.url), headers=headers)

    def download_target(self, file_name: str, server_timeout: float | None = None) -> RequestTarget:
        """URL and headers of ``GET .../{version}/files/{id}:download?alt=media``, exactly as
        ``client.files.download`` builds them (the SDK has no way to hand its body on as it
        arrives). ``server_timeout`` (seconds) goes to Google as ``X-Server-Timeout``, as the
        SDK's ``HttpOptions.timeout`` would."""
        from google.genai import _transformers, types

        path = f"files/{_transformers.t_file_name(file_name)}:download?alt=media"
        options = types.HttpOptions(timeout=int(server_timeout * 1000)) if server_timeout else None
        request = self._api._build_request("get", path, {}, options)
        url = str(request.url)
        to_httpx_url = getattr(self._api, "_httpx_url", None)  # mTLS endpoints, when in use
        if to_httpx_url is not None:
            url = to_httpx_url(url, is_async=False)
        return RequestTarget(url=url, headers=dict(request.headers))

    def http_client(self) -> HttpClient | None:
        """The SDK's own httpx2 client (its pool, TLS and proxy settings), when it has one."""
        client = getattr(self._api, "_httpx_client", None)
        return client if client is not None and hasattr(client, "send") else None

    def get_resource(self, name: str) -> dict[str, Any]:
        """The raw JSON of a resource such as ``batches/abc``, fields the SDK drops included.

        The SDK's ``BatchJob`` omits ``metadata.batchStats``; progress reporting needs it.
        """
        import json

        response = self._api.request("get", name, {}, None)
        body = json.loads(response.body) if response.body else {}
        return body if isinstance(body, dict) else {}
