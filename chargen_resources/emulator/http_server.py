"""The threaded HTTP server: routing, API-key check, server-wide faults, and response framing.

Every failure becomes Google's JSON error body; nothing a client sends can crash a handler
thread or leave a connection hanging.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO, cast
from urllib.parse import parse_qsl, urlsplit

from chargen_resources.emulator import (
    admin_api,
    batches_api,
    files_api,
    generate_api,
    models_api,
)
from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.generate_api import INJECTED_MESSAGES
from chargen_resources.emulator.http_types import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    SseResponse,
)
from chargen_resources.emulator.wire import ApiError

log = logging.getLogger("chargen.emulator")
Handler = Callable[[EmulatorContext, HttpRequest], HttpResponse]
_V = r"(v1|v1beta|v1alpha)"
_ID = r"([^/:]+)"
_MODEL = r"((?:models|tunedModels)/[^/:]+)"

# (method, path regex, handler, kind): kind "api" needs an API key and counts for faults.
ROUTES: list[tuple[str, re.Pattern[str], Handler, str]] = [
    ("POST", re.compile(rf"/upload/{_V}/files"), files_api.upload, "upload"),
    ("GET", re.compile(rf"/{_V}/files"), files_api.list_files, "api"),
    ("GET", re.compile(rf"/{_V}/files/{_ID}:download"), files_api.download_file, "api"),
    ("GET", re.compile(rf"/download/{_V}/files/{_ID}:download"), files_api.download_file, "api"),
    ("GET", re.compile(rf"/{_V}/files/{_ID}"), files_api.get_file, "api"),
    ("DELETE", re.compile(rf"/{_V}/files/{_ID}"), files_api.delete_file, "api"),
    ("POST", re.compile(rf"/{_V}/{_MODEL}:generateContent"), generate_api.generate, "api"),
    ("POST", re.compile(rf"/{_V}/{_MODEL}:streamGenerateContent"), generate_api.stream, "api"),
    ("POST", re.compile(rf"/{_V}/{_MODEL}:countTokens"), generate_api.count_tokens, "api"),
    ("POST", re.compile(rf"/{_V}/{_MODEL}:batchGenerateContent"), batches_api.create, "api"),
    ("GET", re.compile(rf"/{_V}/models"), models_api.list_models, "api"),
    ("GET", re.compile(rf"/{_V}/{_MODEL}"), models_api.get_model, "api"),
    ("GET", re.compile(rf"/{_V}/batches"), batches_api.list_batches, "api"),
    ("GET", re.compile(rf"/{_V}/batches/{_ID}"), batches_api.get, "api"),
    ("DELETE", re.compile(rf"/{_V}/batches/{_ID}"), batches_api.delete, "api"),
    ("POST", re.compile(rf"/{_V}/batches/{_ID}:cancel"), batches_api.cancel, "api"),
    # The batch guide's curl samples send these two without -X, that is as GET.
    ("GET", re.compile(rf"/{_V}/batches/{_ID}:cancel"), batches_api.cancel, "api"),
    ("GET", re.compile(rf"/{_V}/batches/{_ID}:delete"), batches_api.delete, "api"),
    ("POST", re.compile(rf"/{_V}/batches/{_ID}:delete"), batches_api.delete, "api"),
    ("GET", re.compile(r"/emulator/status"), admin_api.status, "admin"),
    ("GET", re.compile(r"/emulator/billing"), admin_api.billing, "admin"),
    ("GET", re.compile(r"/emulator/uploads"), admin_api.uploads, "admin"),
    ("POST", re.compile(r"/emulator/clock"), admin_api.clock, "admin"),
    ("POST", re.compile(r"/emulator/faults"), admin_api.faults, "admin"),
]


def match_route(method: str, path: str) -> tuple[Handler, str, tuple[str, ...]]:
    for route_method, pattern, handler, kind in ROUTES:
        found = pattern.fullmatch(path)
        if found and route_method == method:
            return handler, kind, found.groups()
    raise ApiError(404, f"Method not found: {method} {path} is not part of the emulated API.")


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: EmulatorContext) -> None:
        super().__init__(address, EmulatorRequestHandler)
        self.context = context


class EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in separate writes
    server: EmulatorServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def _build_request(self) -> HttpRequest:
        split = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        host = headers.get("host") or "{}:{}".format(*self.server.server_address[:2])
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        return HttpRequest(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query)),
            headers=headers,
            body_stream=cast(BinaryIO, self.rfile),
            content_length=length,
            host_url=f"http://{host}",
        )

    def _handle(self) -> None:
        ctx = self.server.context
        request = self._build_request()
        upload_headers: dict[str, str] = {}
        try:
            if request.content_length < 0:
                raise ApiError(400, "Invalid Content-Length header.")
            if "chunked" in (request.header("transfer-encoding") or "").lower():
                raise ApiError(
                    411, "Chunked request bodies are not supported; send Content-Length."
                )
            handler, kind, groups = match_route(request.method, request.path)
            request.route = groups
            if kind == "upload" and request.query.get("upload_id"):
                upload_headers = {"X-Goog-Upload-Status": "final"}
            if kind == "api" or (kind == "upload" and not request.query.get("upload_id")):
                self._check_api_key(request)
            if kind != "admin":
                forced = ctx.failures.take(request.path)
                if forced is not None:
                    raise ApiError(forced, INJECTED_MESSAGES.get(forced, "Injected failure."))
                if ctx.settings.latency_seconds:
                    time.sleep(ctx.settings.latency_seconds)
            response = handler(ctx, request)
        except ApiError as error:
            response = JsonResponse.error(error, upload_headers)
        except Exception as exc:  # never let a bug kill the connection without an answer
            log.exception("emulator handler failed for %s %s", request.method, request.path)
            response = JsonResponse.error(
                ApiError(500, f"Emulator internal error: {exc!r}"), upload_headers
            )
        if not request.body_consumed():
            self.close_connection = True  # unread body bytes would corrupt the next request
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _check_api_key(self, request: HttpRequest) -> None:
        if not self.server.context.settings.require_api_key:
            return
        if not (request.header("x-goog-api-key") or request.query.get("key")):
            raise ApiError(
                403,
                "Method doesn't allow unregistered callers (callers without "
                "established identity). Please use API Key or other form of API consumer "
                "identity to call this API.",
            )

    def _send(self, response: HttpResponse) -> None:
        if isinstance(response, JsonResponse):
            self._send_json(response)
        elif isinstance(response, FileResponse):
            self._send_file(response)
        else:
            self._send_sse(response)

    def _start(
        self, status: int, content_type: str, headers: dict[str, str], length: int | None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers.items():
            self.send_header(name, value)
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()

    def _send_json(self, response: JsonResponse) -> None:
        data = json.dumps(response.body, ensure_ascii=False).encode()
        self._start(response.status, "application/json; charset=UTF-8", response.headers, len(data))
        if response.truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    def _send_file(self, response: FileResponse) -> None:
        self._start(response.status, response.content_type, response.headers, response.length)
        sent = 0
        for chunk in response.chunks:
            self.wfile.write(chunk)
            sent += len(chunk)
        if sent < response.length:
            self.close_connection = True  # the client sees the body end early

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_sse(self, response: SseResponse) -> None:
        events = iter(response.events)
        try:
            first = next(events, None)
        except ApiError as error:
            self._send_json(JsonResponse.error(error))
            return
        content_type = (
            "application/json; charset=UTF-8" if response.json_array else "text/event-stream"
        )
        self._start(200, content_type, {"Cache-Control": "no-cache"}, None)
        event = first
        opening = True
        while event is not None:
            payload = json.dumps(event.payload, ensure_ascii=False).encode()
            if response.json_array:
                data = (b"[" if opening else b",\r\n") + payload
            else:
                data = b"data: " + payload + b"\r\n\r\n"
            opening = False
            if event.cut:
                # Announce the whole chunk, deliver half of it, then hang up: a stream cut mid-image.
                self.wfile.write(f"{len(data):x}\r\n".encode() + data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self._write_chunk(data)
            event = next(events, None)
        if response.json_array:
            self._write_chunk(b"]")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
