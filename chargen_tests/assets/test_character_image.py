import base64
import io

from PIL import Image

from chargen_assets.character_image import THUMBNAIL_SIDE, metadata, thumbnail_markdown
from chargen_resources.characters.artifacts import GeneratedImage, TokenUsage


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_thumbnail_is_a_small_inline_jpeg() -> None:
    markdown = thumbnail_markdown(_png((768, 1376)), "ash")
    assert markdown.startswith("![ash](data:image/jpeg;base64,")
    data = base64.b64decode(markdown.split(",", 1)[1].rstrip(")"))
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_SIDE * 2
    assert len(markdown) < 20_000  # metadata stays light for thousands of characters


def test_metadata_reports_size_tokens_cost_and_preview() -> None:
    image = GeneratedImage(
        character="ash",
        image_key="k.png",
        image_uri="file:///k.png",
        width=768,
        height=1376,
        bytes=1234,
        finish_reason="STOP",
        model="gemini-3-pro-image-preview",
        mode="stream",
        batch_job=None,
        prompt_hash="h",
        usage=TokenUsage(prompt_tokens=5, output_tokens=1120),
        estimated_cost_usd=0.13,
    )
    values = metadata(image, _png((64, 64)))
    assert values["width"] == 768 and values["output_tokens"] == 1120
    assert values["batch_job"] == "(streamed, full price)"
    assert "data:image/jpeg" in str(values["preview"].value)
