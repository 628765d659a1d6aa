from chargen_resources.characters.requests import ImageReference, analysis_request, image_request
from chargen_tests.factories import compiled_prompt


def test_analysis_requests_reference_files_in_json_mode_at_low_temperature() -> None:
    request = analysis_request(
        [ImageReference(uri="https://x/files/a", mime_type="image/png")], "ash"
    )
    parts = request["contents"][0]["parts"]
    assert parts[-1] == {"fileData": {"fileUri": "https://x/files/a", "mimeType": "image/png"}}
    config = request["generationConfig"]
    assert config["responseMimeType"] == "application/json" and config["temperature"] == 0.2
    assert config["responseSchema"]["type"] == "OBJECT"


def test_image_requests_ask_for_image_only_with_ratio_size_and_safety() -> None:
    prompt = compiled_prompt(text="draw", image_size="2K")
    request = image_request(prompt)
    assert request["generationConfig"] == {
        "responseModalities": ["IMAGE"],
        "imageConfig": {"aspectRatio": "9:16", "imageSize": "2K"},
    }
    assert {s["category"] for s in request["safetySettings"]} >= {"HARM_CATEGORY_DANGEROUS_CONTENT"}


def test_safety_defaults_block_only_clearly_harmful_content() -> None:
    request = image_request(compiled_prompt(text="draw"))
    assert {s["category"]: s["threshold"] for s in request["safetySettings"]} == {
        "HARM_CATEGORY_DANGEROUS_CONTENT": "BLOCK_ONLY_HIGH",
        "HARM_CATEGORY_HARASSMENT": "BLOCK_ONLY_HIGH",
        "HARM_CATEGORY_HATE_SPEECH": "BLOCK_ONLY_HIGH",
        "HARM_CATEGORY_SEXUALLY_EXPLICIT": "BLOCK_MEDIUM_AND_ABOVE",
    }
