"""StreamingGenerateClient over real HTTP: a loopback server we control, and the emulator."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from google import genai
from google.genai import types

from chargen_resources.emulator import EmulatorSettings
from chargen_resources.streaming import (
    GeminiHttpError,
    GoogleGenAIApiAdapter,
    ImageBlock,
    InlineDataPart,
    LocalFileSink,
    RequestContent,
    StreamDone,
    StreamingGenerateClient,
    StreamTimeoutError,
    TextBlock,
    TextPart,
    ThoughtImageSkipped,
    build_request_body,
    collect_text,
    parse_gemini_events,
    parse_sse,
    upload_image_chunks,
)

REFERENCE = os.urandom(200_001)  # not a multiple of 3


class Recorder(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    behaviour: ClassVar[str] = "sse"

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        Recorder.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if Recorder.behaviour == "error":
            payload = json.dumps(
                {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}}
            )
            self.send_response(429)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())
            return
        if Recorder.behaviour == "html":
            self.send_response(502)
            self.send_header("Content-Length", "22")
            self.end_headers()
            self.wfile.write(b"<html>Bad Gateway</html>"[:22])
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunks = [
            {"candidates": [{"content": {"parts": [{"text": "hi"}]}}]},
            {"candidates": [{"content": {"parts": [{"text": " there"}]}, "finishReason": "STOP"}]},
        ]
        for item in chunks:
            self.wfile.write(b"data: " + json.dumps(item).encode() + b"\r\n\r\n")
            self.wfile.flush()
            if Recorder.behaviour == "stall":
                time.sleep(3)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.requests, Recorder.behaviour = [], "sse"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def client_for(base_url: str) -> StreamingGenerateClient:
    sdk = genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url=base_url, api_version="v1beta")
    )
    return StreamingGenerateClient(GoogleGenAIApiAdapter(sdk))


def test_request_body_is_sliced_and_valid_json(tmp_path: Path) -> None:
    reference_file = tmp_path / "ref.png"
    reference_file.write_bytes(REFERENCE)
    body = build_request_body(
        [
            RequestContent(
                "user",
                [
                    TextPart('draw "her"'),
                    InlineDataPart("image/png", REFERENCE),
                    InlineDataPart("image/webp", reference_file),
                ],
            )
        ],
        {"responseModalities": ["IMAGE"], "imageConfig": {"imageSize": "2K"}},
        system_instruction="be nice",
        safety_settings=[{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}],
    )
    pieces = list(body)
    assert max(len(piece) for piece in pieces) <= 64 * 1024
    assert len(b"".join(pieces)) == len(body)
    parsed = json.loads(b"".join(pieces))
    parts = parsed["contents"][0]["parts"]
    assert parts[0] == {"text": 'draw "her"'}
    assert base64.b64decode(parts[1]["inlineData"]["data"]) == REFERENCE
    assert base64.b64decode(parts[2]["inlineData"]["data"]) == REFERENCE
    assert parsed["generationConfig"]["imageConfig"] == {"imageSize": "2K"}
    assert parsed["systemInstruction"] == {"parts": [{"text": "be nice"}]}
    assert parsed["safetySettings"] == [
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]


def test_streams_the_sse_body_with_sdk_url_and_auth(server: str) -> None:
    parts: list[TextPart | InlineDataPart] = [TextPart("x"), InlineDataPart("image/png", REFERENCE)]
    body = client_for(server).stream("img-model", parts, timeout=10)
    blocks = list(collect_text(parse_gemini_events(parse_sse(body))))
    assert blocks == [TextBlock("hi there"), StreamDone(finish_reason="STOP")]
    [request] = Recorder.requests
    assert request["path"] == "/v1beta/models/img-model:streamGenerateContent?alt=sse"
    assert request["headers"]["x-goog-api-key"] == "test-key"
    assert "Transfer-Encoding" not in request["headers"]
    sent = json.loads(request["body"])
    assert base64.b64decode(sent["contents"][0]["parts"][1]["inlineData"]["data"]) == REFERENCE


@pytest.mark.parametrize(
    ("behaviour", "status", "message"),
    [
        ("error", "RESOURCE_EXHAUSTED", "slow down"),
        ("html", "Bad Gateway", "<html>"),
    ],
)
def test_http_error_carries_google_error_body(
    server: str, behaviour: str, status: str, message: str
) -> None:
    Recorder.behaviour = behaviour
    with pytest.raises(GeminiHttpError) as raised:
        list(client_for(server).stream("m", [TextPart("x")], timeout=10))
    assert raised.value.status == status and message in raised.value.message
    assert raised.value.code == (429 if behaviour == "error" else 502)


def test_timeout_cancels_the_request(server: str) -> None:
    Recorder.behaviour = "stall"
    started = time.monotonic()
    body = client_for(server).stream("m", [TextPart("x")], timeout=0.5)
    with pytest.raises(StreamTimeoutError, match="deadline"):
        list(body)
    assert time.monotonic() - started < 2.5


@pytest.fixture(params=["whole", "fragmented", "cumulative"])
def emulator_settings(request: pytest.FixtureRequest) -> EmulatorSettings:
    return EmulatorSettings(
        pending_seconds=0, running_seconds=0, draft_images=1, image_delivery=request.param
    )


def test_emulator_stream_through_the_whole_pipeline(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    """Each delivery mode yields the same final image the SDK gets, stored once; drafts skipped."""
    config = {
        "responseModalities": ["TEXT", "IMAGE"],
        "imageConfig": {"aspectRatio": "1:1", "imageSize": "1K"},
    }
    body = StreamingGenerateClient(GoogleGenAIApiAdapter(genai_client)).stream(
        "gemini-3-pro-image-preview", [TextPart("a knight in red armour")], config, timeout=30
    )
    sse = parse_sse(body)
    events = parse_gemini_events(sse)
    uploaded = upload_image_chunks(
        events, LocalFileSink(tmp_path), lambda context: f"stream-{context.image_index}.png"
    )
    blocks = list(collect_text(uploaded))
    images = [block for block in blocks if isinstance(block, ImageBlock)]
    assert any(isinstance(block, ThoughtImageSkipped) for block in blocks)
    assert len(images) == 1
    expected = genai_client.models.generate_content(
        model="gemini-3-pro-image-preview",
        contents="a knight in red armour",
        config={
            "response_modalities": ["TEXT", "IMAGE"],
            "image_config": {"aspect_ratio": "1:1", "image_size": "1K"},
        },
    )
    finals = [
        part.inline_data.data
        for part in expected.parts or []
        if part.inline_data and not part.thought
    ]
    assert finals and finals[-1] is not None
    assert (tmp_path / images[0].key).read_bytes() == finals[-1]
    assert images[0].content_length == len(finals[-1])
    assert images[0].width and images[0].height
    assert isinstance(blocks[-1], StreamDone)
