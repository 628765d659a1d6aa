"""The documented token rules, and the emulator billing by them."""

from __future__ import annotations

import io

import pytest
from google import genai
from google.genai import types
from PIL import Image

from chargen_resources.gemini.tokens import input_image_tokens, output_image_tokens, text_tokens


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((384, 384), 258),
        ((64, 96), 258),
        ((385, 100), 258),
        ((768, 768), 258),
        ((1000, 800), 1032),
        ((2048, 1536), 1548),
    ],
)
def test_gemini_2_images_cost_258_tokens_per_768_tile(size: tuple[int, int], expected: int) -> None:
    assert input_image_tokens("gemini-2.5-flash", *size) == expected


def test_gemini_3_reads_images_at_high_media_resolution() -> None:
    assert input_image_tokens("models/gemini-3-pro-image-preview", 64, 64) == 1120
    assert input_image_tokens("gemini-3-pro-image-preview", 4000, 3000) == 1120


def test_output_images_cost_by_size_and_model() -> None:
    assert output_image_tokens("gemini-3-pro-image-preview", "1K") == 1120
    assert output_image_tokens("gemini-3-pro-image-preview", "2K") == 1120
    assert output_image_tokens("gemini-3-pro-image-preview", "4K") == 2000
    assert output_image_tokens("gemini-2.5-flash-image", "1K") == 1290
    assert text_tokens("abcdefgh") == 2 and text_tokens("abcdefghi") == 3


def test_the_emulator_counts_input_images_by_the_rule(genai_client: genai.Client) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 800), (200, 10, 10)).save(buffer, format="PNG")
    content = types.Content(
        role="user",
        parts=[
            types.Part.from_bytes(data=buffer.getvalue(), mime_type="image/png"),
            types.Part.from_text(text="what?"),
        ],
    )
    answer = genai_client.models.generate_content(model="gemini-2.5-flash", contents=content)
    usage = answer.usage_metadata
    assert usage is not None and usage.prompt_tokens_details is not None
    image = [d for d in usage.prompt_tokens_details if d.modality == types.MediaModality.IMAGE]
    assert [d.token_count for d in image] == [1032]
