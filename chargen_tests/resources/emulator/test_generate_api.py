"""generateContent and its SSE stream through the real SDK: models, delivery modes, faults."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image
from pydantic import BaseModel

from chargen_resources.emulator import EmulatorSettings, RunningEmulator, start_emulator
from chargen_resources.emulator.settings import ImageDelivery
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import error_of, png_bytes, raw, write_png

IMAGE_MODEL = "gemini-3-pro-image-preview"


def _contents(*items: Any) -> Any:
    return list(items)


def _final_image(response: types.GenerateContentResponse) -> bytes:
    assert response.candidates and response.candidates[0].content
    parts = response.candidates[0].content.parts or []
    images = [
        p.inline_data.data for p in parts if p.inline_data and p.inline_data.data and not p.thought
    ]
    assert len(images) == 1
    return images[0]


def _image_config(ratio: str = "1:1", size: str = "1K") -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        response_modalities=["IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=ratio, image_size=size),
    )


@pytest.mark.parametrize(
    ("ratio", "size", "expected"),
    [
        ("1:1", "1K", (1024, 1024)),
        ("9:16", "1K", (768, 1376)),
        ("4:5", "1K", (928, 1152)),
        ("5:4", "2K", (2304, 1856)),
        ("21:9", "1K", (1584, 672)),
        ("16:9", "4K", (5504, 3072)),
    ],
)
def test_image_sizes_follow_aspect_ratio_and_size(
    genai_client: genai.Client, ratio: str, size: str, expected: tuple[int, int]
) -> None:
    response = genai_client.models.generate_content(
        model=IMAGE_MODEL, contents="a teal robot", config=_image_config(ratio, size)
    )
    assert Image.open(io.BytesIO(_final_image(response))).size == expected
    usage = response.usage_metadata
    assert usage is not None
    assert usage.candidates_token_count == (2000 if size == "4K" else 1120)
    assert usage.total_token_count == (usage.prompt_token_count or 0) + (
        usage.candidates_token_count or 0
    ) + (usage.thoughts_token_count or 0)


def test_image_follows_prompt_colours_and_is_deterministic(genai_client: genai.Client) -> None:
    prompt = "a crimson knight with a crimson cape"
    first = _final_image(
        genai_client.models.generate_content(
            model=IMAGE_MODEL, contents=prompt, config=_image_config()
        )
    )
    second = _final_image(
        genai_client.models.generate_content(
            model=IMAGE_MODEL, contents=prompt, config=_image_config()
        )
    )
    assert first == second
    other = _final_image(
        genai_client.models.generate_content(
            model=IMAGE_MODEL, contents="a teal mage", config=_image_config()
        )
    )
    assert other != first
    pixels = Image.open(io.BytesIO(first)).convert("RGB")
    crimson = sum(c for c, rgb in (pixels.getcolors(1 << 20) or []) if rgb == (220, 20, 60))
    assert crimson > 1000


def test_image_rendering_is_fast(genai_client: genai.Client) -> None:
    started = time.monotonic()
    genai_client.models.generate_content(
        model=IMAGE_MODEL, contents="a ranger", config=_image_config()
    )
    assert time.monotonic() - started < 1.0


def test_unsupported_aspect_ratio_and_size_are_400(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    body = {
        "contents": [{"parts": [{"text": "x"}]}],
        "generationConfig": {"imageConfig": {"aspectRatio": "7:3"}},
    }
    status, _, answer = raw(
        emulator, "POST", f"/v1beta/models/{IMAGE_MODEL}:generateContent", json.dumps(body).encode()
    )
    assert status == 400 and "aspect ratio" in error_of(answer)["message"]
    with pytest.raises(errors.ClientError) as caught:
        genai_client.models.generate_content(
            model=IMAGE_MODEL, contents="x", config=_image_config("1:1", "3K")
        )
    assert caught.value.code == 400


def test_draft_thought_images_come_before_the_final_one(genai_client: genai.Client) -> None:
    response = genai_client.models.generate_content(
        model=IMAGE_MODEL, contents="a gold cleric [emulator:drafts=2]", config=_image_config()
    )
    assert response.candidates and response.candidates[0].content
    parts = response.candidates[0].content.parts or []
    thought_images = [p for p in parts if p.thought and p.inline_data]
    assert len(thought_images) == 2
    assert parts[-1].inline_data is not None and not parts[-1].thought
    final = Image.open(io.BytesIO(_final_image(response)))
    for part in thought_images:
        assert part.inline_data and part.inline_data.data
        assert Image.open(io.BytesIO(part.inline_data.data)).width < final.width
    assert ((response.usage_metadata and response.usage_metadata.thoughts_token_count) or 0) > 0


class Analysis(BaseModel):
    archetype: str
    color_palette: list[str]
    mood: str
    art_style: str


def test_analysis_follows_pixels_with_pydantic_schema(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    red = genai_client.files.upload(file=write_png(tmp_path / "r.png", (215, 15, 20)))
    response = genai_client.models.generate_content(
        model="gemini-2.5-flash",
        contents=_contents(
            types.Part.from_uri(file_uri=red.uri or "", mime_type="image/png"), "analyse"
        ),
        config={"response_mime_type": "application/json", "response_schema": Analysis},
    )
    assert isinstance(response.parsed, Analysis)
    assert {"red", "crimson", "scarlet"} & set(response.parsed.color_palette)
    dark = genai_client.models.generate_content(
        model="gemini-2.5-flash",
        contents=_contents(
            types.Part.from_bytes(data=png_bytes((10, 10, 14)), mime_type="image/png"), "analyse"
        ),
        config={"response_mime_type": "application/json", "response_schema": Analysis},
    )
    assert isinstance(dark.parsed, Analysis) and "dark" in dark.parsed.mood
    assert dark.usage_metadata is not None and dark.usage_metadata.prompt_token_count
    assert dark.usage_metadata.prompt_token_count >= 258  # a small image


def test_json_schema_answers_validate(genai_client: genai.Client) -> None:
    schema = {
        "type": "object",
        "required": ["palette", "mood", "score"],
        "properties": {
            "palette": {
                "type": "array",
                "minItems": 2,
                "maxItems": 4,
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "hex": {"type": "string", "pattern": "^#[0-9a-f]{6}$"},
                    },
                    "required": ["name", "hex"],
                },
            },
            "mood": {"enum": ["dark", "cheerful", "calm"]},
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
    }
    response = genai_client.models.generate_content(
        model="gemini-2.5-flash",
        contents=_contents(
            types.Part.from_bytes(data=png_bytes((250, 240, 90)), mime_type="image/png")
        ),
        config={"response_mime_type": "application/json", "response_json_schema": schema},
    )
    jsonschema.validate(json.loads(response.text or ""), schema)


def test_plain_text_without_schema(genai_client: genai.Client) -> None:
    response = genai_client.models.generate_content(
        model="gemini-2.5-flash", contents="describe a purple wizard"
    )
    assert response.text and "purple" in response.text


@pytest.mark.parametrize("model", ["gemini-2.5-flash", IMAGE_MODEL])
def test_safety_words_block(genai_client: genai.Client, model: str) -> None:
    response = genai_client.models.generate_content(model=model, contents="a GORY battle")
    if model == IMAGE_MODEL:
        assert response.candidates and response.candidates[0].finish_reason is not None
        assert response.candidates[0].finish_reason.name == "IMAGE_SAFETY"
        assert response.candidates[0].content is None
    else:
        assert not response.candidates
        assert response.prompt_feedback and response.prompt_feedback.block_reason
        assert response.prompt_feedback.block_reason.name == "SAFETY"
    marked = genai_client.models.generate_content(model=model, contents="calm [emulator:safety]")
    assert not marked.text


def test_unknown_model_is_404(genai_client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        genai_client.models.generate_content(model="gpt-4", contents="hi")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert "models/gpt-4 is not found" in (caught.value.message or "")


@pytest.mark.parametrize(
    ("marker", "code", "error_type"),
    [
        ("http-429", 429, errors.ClientError),
        ("http-500", 500, errors.ServerError),
        ("http-503", 503, errors.ServerError),
    ],
)
def test_http_fault_markers(
    genai_client: genai.Client, marker: str, code: int, error_type: type[errors.APIError]
) -> None:
    for call in (
        genai_client.models.generate_content,
        lambda **kw: list(genai_client.models.generate_content_stream(**kw)),
    ):
        with pytest.raises(error_type) as caught:
            call(model="gemini-2.5-flash", contents=f"hi [emulator:{marker}]")
        assert caught.value.code == code


def test_slow_marker_delays_the_answer(genai_client: genai.Client) -> None:
    started = time.monotonic()
    genai_client.models.generate_content(model="gemini-2.5-flash", contents="x [emulator:slow=0.4]")
    assert time.monotonic() - started >= 0.4


def test_bad_file_reference_and_bad_bodies(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        genai_client.models.generate_content(
            model="gemini-2.5-flash",
            contents=_contents(
                types.Part.from_uri(
                    file_uri=f"{emulator.base_url}/v1beta/files/gone", mime_type="image/png"
                )
            ),
        )
    assert caught.value.code == 400
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    for body in (b"{not json", b"[1, 2]", b"", json.dumps({"contents": []}).encode()):
        status, _, answer = raw(emulator, "POST", path, body)
        assert status == 400 and error_of(answer)["status"] == "INVALID_ARGUMENT"
    with pytest.raises(errors.ClientError):
        genai_client.models.generate_content(
            model="gemini-2.5-flash",
            contents=_contents(types.Part.from_bytes(data=b"notanimage", mime_type="image/png")),
        )


# ---- streaming


def _streamed_image(client: genai.Client, mode: str) -> tuple[bytes, int]:
    buffer = b""
    events = 0
    for chunk in client.models.generate_content_stream(
        model=IMAGE_MODEL, contents="a scarlet rogue", config=_image_config()
    ):
        events += 1
        for part in (
            (chunk.candidates[0].content.parts or [])
            if chunk.candidates and chunk.candidates[0].content
            else []
        ):
            if part.inline_data and part.inline_data.data and not part.thought:
                data = part.inline_data.data
                buffer = data if mode in ("whole", "cumulative") else buffer + data
    return buffer, events


@pytest.mark.parametrize("mode", ["whole", "fragmented", "cumulative"])
def test_stream_delivery_modes_reassemble_the_same_png(tmp_path: Path, mode: ImageDelivery) -> None:
    settings = EmulatorSettings(
        pending_seconds=0, running_seconds=0, draft_images=0, image_delivery=mode
    )
    with start_emulator(tmp_path / "state", settings) as emulator:
        client = client_for(emulator)
        whole = _final_image(
            client.models.generate_content(
                model=IMAGE_MODEL, contents="a scarlet rogue", config=_image_config()
            )
        )
        streamed, events = _streamed_image(client, mode)
    assert streamed == whole
    Image.open(io.BytesIO(streamed)).verify()
    assert events == (1 if mode == "whole" else 4)


def test_text_stream_has_finish_and_usage_on_last_chunk(genai_client: genai.Client) -> None:
    chunks = list(
        genai_client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="describe a silver robot"
        )
    )
    assert len(chunks) > 1
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason is not None
    full = "".join(c.text or "" for c in chunks)
    single = genai_client.models.generate_content(
        model="gemini-2.5-flash", contents="describe a silver robot"
    )
    assert full == single.text


def test_stream_cut_and_in_stream_error(genai_client: genai.Client) -> None:
    with pytest.raises(httpx2.HTTPError):
        list(
            genai_client.models.generate_content_stream(
                model=IMAGE_MODEL, contents="a knight [emulator:stream-cut]", config=_image_config()
            )
        )
    received = []
    with pytest.raises(errors.ServerError) as caught:
        for chunk in genai_client.models.generate_content_stream(
            model="gemini-2.5-flash", contents="a knight [emulator:stream-error]"
        ):
            received.append(chunk)
    assert caught.value.code == 500 and len(received) == 1
    with pytest.raises(httpx2.HTTPError):
        genai_client.models.generate_content(
            model="gemini-2.5-flash", contents="x [emulator:stream-cut]"
        )
