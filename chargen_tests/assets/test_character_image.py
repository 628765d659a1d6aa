from chargen_assets.character_image import metadata
from chargen_resources.characters.artifacts import TokenUsage
from chargen_tests.factories import generated_image


def test_metadata_reports_size_tokens_cost_and_the_stored_preview() -> None:
    image = generated_image(
        character="ash",
        bytes=1234,
        model="gemini-3-pro-image-preview",
        mode="interactive",
        batch_job=None,
        usage=TokenUsage(prompt_tokens=5, output_tokens=1120),
        estimated_cost_usd=0.13,
        thumbnail="![ash](data:image/jpeg;base64,AAAA)",
    )
    values = metadata(image, "file:///k.json")
    assert values["width"] == 768 and values["output_tokens"] == 1120
    assert values["batch_job"] == "(interactive, full price)"
    assert values["larger_preview"].value == "![ash](data:image/jpeg;base64,AAAA)"
