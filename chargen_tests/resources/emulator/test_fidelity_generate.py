"""generateContent and its stream as the docs' samples drive them through the real SDK."""

from __future__ import annotations

import enum
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import jsonschema
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image
from pydantic import BaseModel

from chargen_resources.emulator import EmulatorSettings, RunningEmulator, start_emulator
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import error_of, png_bytes, raw

IMAGE_MODEL = "gemini-3-pro-image-preview"
TEXT_MODEL = "gemini-2.5-flash"
# Gemini 3 image models at 1K; 2K and 4K double and quadruple each side.
SIZES_1K = {
    "1:1": (1024, 1024),
    "2:3": (848, 1264),
    "3:2": (1264, 848),
    "3:4": (896, 1200),
    "4:3": (1200, 896),
    "4:5": (928, 1152),
    "5:4": (1152, 928),
    "9:16": (768, 1376),
    "16:9": (1376, 768),
    "21:9": (1584, 672),
}


class Rarity(enum.Enum):
    COMMON = "common"
    RARE = "rare"
    LEGENDARY = "legendary"


class Item(BaseModel):
    name: str
    weight_kg: float
    count: int
    tags: list[str]


class Character(BaseModel):
    name: str
    level: int
    rarity: Rarity
    stance: Literal["attack", "defend"]
    playable: bool
    inventory: list[Item]
    grid: list[list[int]]
    motto: str | None = None


def _usage_adds_up(response: types.GenerateContentResponse) -> None:
    usage = response.usage_metadata
    assert usage is not None and usage.prompt_token_count and usage.total_token_count
    assert usage.total_token_count == (
        usage.prompt_token_count
        + (usage.candidates_token_count or 0)
        + (usage.thoughts_token_count or 0)
    )


def _final_image(response: types.GenerateContentResponse) -> bytes:
    images = [p for p in response.parts or [] if p.inline_data and not p.thought]
    assert len(images) == 1
    data = images[0].inline_data.data if images[0].inline_data else None
    assert data is not None
    return data


def test_text_answer_has_the_documented_fields(genai_client: genai.Client) -> None:
    response = genai_client.models.generate_content(
        model=TEXT_MODEL, contents="Explain how AI works in a few words"
    )
    assert isinstance(response.text, str) and response.text
    assert response.candidates is not None
    candidate = response.candidates[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert candidate.content is not None and candidate.content.role == "model"
    assert response.model_version and response.response_id
    _usage_adds_up(response)


def test_system_instruction_and_tools_are_accepted(genai_client: genai.Client) -> None:
    plain = genai_client.models.generate_content(model=TEXT_MODEL, contents="Hello there")
    instructed = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="Hello there",
        config=types.GenerateContentConfig(
            system_instruction="You are a cat. Your name is Neko.",
            tools=[types.Tool(google_search=types.GoogleSearch())],
            thinking_config=types.ThinkingConfig(thinking_budget=0),
        ),
    )
    assert instructed.text
    assert instructed.usage_metadata is not None and plain.usage_metadata is not None
    assert (instructed.usage_metadata.prompt_token_count or 0) > (
        plain.usage_metadata.prompt_token_count or 0
    )
    assert not instructed.usage_metadata.thoughts_token_count  # thinking switched off
    _usage_adds_up(instructed)


def test_pydantic_schema_gives_parsed_instances(genai_client: genai.Client) -> None:
    one = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="Invent a character.",
        config={"response_mime_type": "application/json", "response_schema": Character},
    )
    assert isinstance(one.parsed, Character)
    assert isinstance(one.parsed.rarity, Rarity)
    assert all(isinstance(item, Item) for item in one.parsed.inventory)
    assert Character.model_validate_json(one.text or "") == one.parsed

    many = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="Invent a party.",
        config={"response_mime_type": "application/json", "response_schema": list[Character]},
    )
    assert isinstance(many.parsed, list) and many.parsed
    assert all(isinstance(member, Character) for member in many.parsed)

    choice = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="How rare is a golden sword?",
        config={"response_mime_type": "text/x.enum", "response_schema": Rarity},
    )
    assert isinstance(choice.parsed, Rarity)
    assert choice.text == choice.parsed.value


def test_json_schema_dict_answers_validate(genai_client: genai.Client) -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tier": {"type": "string", "enum": ["bronze", "silver", "gold"]},
            "scores": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
            "stats": {
                "type": "object",
                "properties": {"hp": {"type": "integer"}, "speed": {"type": "number"}},
                "required": ["hp", "speed"],
            },
            "party": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}},
                    "required": ["name", "tags"],
                },
            },
        },
        "required": ["title", "tier", "scores", "stats", "party"],
    }  # fmt: skip
    response = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="Describe a hero.",
        config={"response_mime_type": "application/json", "response_json_schema": schema},
    )
    assert isinstance(response.parsed, dict)
    jsonschema.validate(response.parsed, schema)
    pydantic_schema = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="Invent a character.",
        config={
            "response_mime_type": "application/json",
            "response_json_schema": Character.model_json_schema(),
        },
    )
    assert isinstance(Character.model_validate(pydantic_schema.parsed), Character)


def test_every_aspect_ratio_and_size_has_the_documented_pixels(
    genai_client: genai.Client,
) -> None:
    for size, scale, tokens in (("1K", 1, 1120), ("2K", 2, 1120), ("4K", 4, 2000)):
        for ratio, (width, height) in SIZES_1K.items():
            response = genai_client.models.generate_content(
                model=IMAGE_MODEL,
                contents="A brave green ranger",
                config=types.GenerateContentConfig(
                    response_modalities=["IMAGE"],
                    image_config=types.ImageConfig(aspect_ratio=ratio, image_size=size),
                ),
            )
            image = Image.open(io.BytesIO(_final_image(response)))
            assert image.size == (width * scale, height * scale), (ratio, size)
            wanted = int(ratio.split(":")[0]) / int(ratio.split(":")[1])
            assert abs(image.size[0] / image.size[1] - wanted) / wanted < 0.03
            assert response.usage_metadata is not None
            assert response.usage_metadata.candidates_token_count == tokens
            _usage_adds_up(response)


def test_gemini_25_flash_image_uses_its_own_sizes(genai_client: genai.Client) -> None:
    response = genai_client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents="Create a picture of a nano banana dish",
        config=types.GenerateContentConfig(image_config=types.ImageConfig(aspect_ratio="16:9")),
    )
    assert Image.open(io.BytesIO(_final_image(response))).size == (1344, 768)
    assert response.usage_metadata is not None
    details = {
        d.modality: d.token_count for d in response.usage_metadata.candidates_tokens_details or []
    }
    assert details[types.MediaModality.IMAGE] == 1290
    assert response.usage_metadata.candidates_token_count == sum(
        count or 0 for count in details.values()
    )
    assert not [p for p in response.parts or [] if p.thought]  # not a thinking model


def test_lowercase_or_unknown_sizes_are_refused(genai_client: genai.Client) -> None:
    for image_config in (
        types.ImageConfig(image_size="1k"),
        types.ImageConfig(aspect_ratio="7:3"),
    ):
        with pytest.raises(errors.ClientError) as caught:
            genai_client.models.generate_content(
                model=IMAGE_MODEL,
                contents="x",
                config=types.GenerateContentConfig(image_config=image_config),
            )
        assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")


def test_thought_images_come_first_and_the_final_image_is_not_a_thought(
    genai_client: genai.Client,
) -> None:
    response = genai_client.models.generate_content(
        model=IMAGE_MODEL,
        contents="Da Vinci style sketch of a knight [emulator:drafts=2]",
        config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]),
    )
    parts = response.parts or []
    thought_images = [p for p in parts if p.thought and p.inline_data]
    final_images = [p for p in parts if not p.thought and p.inline_data]
    assert len(thought_images) == 2 and len(final_images) == 1
    assert parts.index(final_images[0]) > max(parts.index(p) for p in thought_images)
    assert final_images[0].thought_signature  # documented: final images carry a signature
    assert all(not p.thought_signature for p in thought_images)
    assert final_images[0].as_image() is not None
    assert response.text and "Sketching" not in response.text  # .text skips thoughts
    _usage_adds_up(response)
    assert response.usage_metadata is not None and response.usage_metadata.thoughts_token_count


def test_include_thoughts_and_max_output_tokens(genai_client: genai.Client) -> None:
    thinking = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="What is 2+2?",
        config=types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(include_thoughts=True)
        ),
    )
    parts = thinking.parts or []
    assert any(p.thought and p.text for p in parts)
    assert thinking.text and all(not p.thought for p in parts if p.text == thinking.text)
    short = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents="Describe a long saga.",
        config=types.GenerateContentConfig(max_output_tokens=3),
    )
    assert short.candidates and short.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert short.usage_metadata is not None
    assert (short.usage_metadata.candidates_token_count or 0) <= 3


def test_safety_blocks(genai_client: genai.Client) -> None:
    image = genai_client.models.generate_content(
        model=IMAGE_MODEL, contents="A gory battlefield", config={"response_modalities": ["IMAGE"]}
    )
    assert image.candidates and image.candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY
    assert not [p for p in image.parts or [] if p.inline_data]
    text = genai_client.models.generate_content(model=TEXT_MODEL, contents="[emulator:safety] hi")
    assert text.prompt_feedback is not None
    assert text.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert not text.candidates and text.text is None


def test_uploaded_file_and_pil_image_as_contents(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    path = tmp_path / "ref.png"
    path.write_bytes(png_bytes((220, 20, 20)))
    uploaded = genai_client.files.upload(file=path)
    question: list[types.PartUnionDict] = ["Describe this character."]
    by_file = genai_client.models.generate_content(model=TEXT_MODEL, contents=[uploaded, *question])
    by_pil = genai_client.models.generate_content(
        model=TEXT_MODEL, contents=[*question, Image.open(path)]
    )
    by_bytes = genai_client.models.generate_content(
        model=TEXT_MODEL,
        contents=[types.Part.from_bytes(data=path.read_bytes(), mime_type="image/png"), *question],
    )
    for response in (by_file, by_pil, by_bytes):
        assert response.text and any(
            word in response.text.lower() for word in ("red", "crimson", "scarlet")
        )
        assert response.usage_metadata is not None
        assert (response.usage_metadata.prompt_token_count or 0) >= 258  # a small image: 258 tokens


def test_chat_keeps_history_across_turns(genai_client: genai.Client) -> None:
    chat = genai_client.chats.create(
        model=IMAGE_MODEL,
        config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]),
    )
    first = chat.send_message("Draw a blue wizard")
    second = chat.send_message(
        "Now make it wider",
        config=types.GenerateContentConfig(image_config=types.ImageConfig(aspect_ratio="16:9")),
    )
    assert first.text and second.text
    assert Image.open(io.BytesIO(_final_image(second))).size == (1376, 768)
    assert len(chat.get_history()) == 4


def test_unknown_model_and_malformed_body(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    with pytest.raises(errors.ClientError) as caught:
        genai_client.models.generate_content(model="gemini-no-such-model", contents="hi")
    assert (caught.value.code, caught.value.status) == (404, "NOT_FOUND")
    assert caught.value.message and "gemini-no-such-model" in caught.value.message

    for body in (b'{"contents": [', b"not json at all", b'{"contents": [}]}'):
        status, _, answer = raw(
            emulator, "POST", f"/v1beta/models/{TEXT_MODEL}:generateContent", body
        )
        error = error_of(answer)
        assert status == 400
        assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("code, kind, status", [
    (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
    (500, errors.ServerError, "INTERNAL"),
    (503, errors.ServerError, "UNAVAILABLE"),
])  # fmt: skip
def test_http_fault_markers_map_to_sdk_errors(
    genai_client: genai.Client, code: int, kind: type[errors.APIError], status: str
) -> None:
    with pytest.raises(kind) as caught:
        genai_client.models.generate_content(model=TEXT_MODEL, contents=f"[emulator:http-{code}]")
    assert (caught.value.code, caught.value.status) == (code, status)
    assert caught.value.message
    assert caught.value.details["error"]["code"] == code


def test_retry_options_recover_from_failed_requests(tmp_path: Path) -> None:
    settings = EmulatorSettings(fail_next_requests=2, fail_status=503)
    with start_emulator(tmp_path / "flaky", settings) as running:
        plain = client_for(running)
        with pytest.raises(errors.ServerError) as caught:
            plain.models.generate_content(model=TEXT_MODEL, contents="hi")
        assert caught.value.code == 503
        retrying = genai.Client(
            api_key="test-key",
            http_options=types.HttpOptions(
                base_url=running.base_url,
                retry_options=types.HttpRetryOptions(
                    attempts=3, initial_delay=0.01, max_delay=0.05
                ),
            ),
        )
        assert retrying.models.generate_content(model=TEXT_MODEL, contents="hi").text


def test_text_stream_concatenates_to_the_whole_answer(genai_client: genai.Client) -> None:
    whole = genai_client.models.generate_content(model=TEXT_MODEL, contents="Tell me a story")
    chunks = list(
        genai_client.models.generate_content_stream(model=TEXT_MODEL, contents="Tell me a story")
    )
    assert len(chunks) > 1
    assert "".join(chunk.text or "" for chunk in chunks) == whole.text
    for chunk in chunks[:-1]:
        assert chunk.candidates and chunk.candidates[0].finish_reason is None
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    _usage_adds_up(last)
    assert last.usage_metadata == whole.usage_metadata


@pytest.fixture(params=["whole", "fragmented", "cumulative"])
def delivery_emulator(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningEmulator]:
    settings = EmulatorSettings(image_delivery=request.param, stream_fragments=3)
    with start_emulator(tmp_path / f"stream-{request.param}", settings) as running:
        yield running


def test_image_streams_reassemble_in_every_delivery_mode(
    delivery_emulator: RunningEmulator,
) -> None:
    client = client_for(delivery_emulator)
    config = types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio="3:4"),
    )
    prompt = "A golden paladin [emulator:drafts=1]"
    expected = _final_image(
        client.models.generate_content(model=IMAGE_MODEL, contents=prompt, config=config)
    )
    chunks = list(
        client.models.generate_content_stream(model=IMAGE_MODEL, contents=prompt, config=config)
    )
    pieces = [
        p.inline_data.data
        for chunk in chunks
        for p in chunk.parts or []
        if p.inline_data and p.inline_data.data and not p.thought
    ]
    mode = delivery_emulator.settings.image_delivery
    if mode == "whole":
        assert pieces == [expected]
    elif mode == "fragmented":
        assert len(pieces) == 3 and b"".join(pieces) == expected
    else:
        assert len(pieces) == 3 and pieces[-1] == expected
        assert all(expected.startswith(piece) for piece in pieces)
    assert Image.open(io.BytesIO(expected)).size == (896, 1200)
    assert sum(1 for c in chunks for p in c.parts or [] if p.thought and p.inline_data) == 1
    assert "".join(c.text or "" for c in chunks).startswith("Here is your")
    last = chunks[-1]
    assert last.candidates and last.candidates[0].finish_reason == types.FinishReason.STOP
    _usage_adds_up(last)
