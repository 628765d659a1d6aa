from chargen_assets.character_image import metadata
from chargen_resources.characters.artifacts import GeneratedImage, TokenUsage


def test_metadata_reports_size_tokens_cost_and_the_stored_preview() -> None:
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
        thumbnail="![ash](data:image/jpeg;base64,AAAA)",
    )
    values = metadata(image, "file:///k.json")
    assert values["width"] == 768 and values["output_tokens"] == 1120
    assert values["batch_job"] == "(streamed, full price)"
    assert values["preview"].value == "![ash](data:image/jpeg;base64,AAAA)"
