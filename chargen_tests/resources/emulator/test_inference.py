"""Image requests follow their reference images; too many references are refused as Google does."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image, ImageDraw

from chargen_resources.emulator import RunningEmulator
from chargen_resources.emulator.sketch_regions import figure_colours, figure_cutout
from chargen_resources.gemini.models import max_reference_images
from chargen_tests.resources.emulator.helpers import error_of, png_bytes, raw

IMAGE_MODEL = "gemini-3-pro-image-preview"
PROMPT = "A calm knight in navy and silver. Carries: longsword. Render style: painterly."
TEXT: types.Part = types.Part.from_text(text=PROMPT)
CONFIG = types.GenerateContentConfig(
    response_modalities=["IMAGE"], image_config=types.ImageConfig(aspect_ratio="1:1")
)


def _sketch(figure: tuple[int, int, int]) -> bytes:
    """A wide orange-ish blob figure on pale paper: a silhouette nothing in the prompt names."""
    image = Image.new("RGB", (256, 256), (236, 232, 220))
    pen = ImageDraw.Draw(image)
    pen.ellipse((40, 60, 216, 240), fill=figure, outline=(20, 20, 20), width=3)
    pen.ellipse((100, 16, 156, 72), fill=figure, outline=(20, 20, 20), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _with_prompt(*parts: types.Part) -> list[types.PartUnionDict]:
    return [TEXT, *parts]


def _part(data: bytes) -> types.Part:
    return types.Part.from_bytes(data=data, mime_type="image/png")


def _uri_part(uri: str) -> types.Part:
    return types.Part.from_uri(file_uri=uri, mime_type="image/png")


def _image_of(response: types.GenerateContentResponse) -> Image.Image:
    assert response.candidates and response.candidates[0].content
    parts = response.candidates[0].content.parts or []
    data = [p.inline_data.data for p in parts if p.inline_data and p.inline_data.data]
    assert data and not any(p.thought for p in parts if p.inline_data)
    return Image.open(io.BytesIO(data[-1])).convert("RGB")


def _near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 40) -> bool:
    return max(abs(x - y) for x, y in zip(a, b, strict=True)) <= tolerance


def test_a_reference_gives_the_figure_its_colour_and_outline(genai_client: genai.Client) -> None:
    orange = (214, 110, 40)
    sketch = _sketch(orange)
    with_sketch = _image_of(
        genai_client.models.generate_content(
            model=IMAGE_MODEL,
            contents=_with_prompt(_part(sketch)),
            config=CONFIG,
        )
    )
    text_only = _image_of(
        genai_client.models.generate_content(model=IMAGE_MODEL, contents=PROMPT, config=CONFIG)
    )
    reference_lead = figure_colours(Image.open(io.BytesIO(sketch)))[0]
    assert _near(figure_colours(with_sketch)[0], reference_lead)
    assert not any(_near(colour, reference_lead) for colour in figure_colours(text_only))
    # The outline follows too: the sketch's figure is a wide blob, the drawn knight is not.
    assert abs(_aspect(with_sketch) - _aspect(Image.open(io.BytesIO(sketch)))) < 0.1
    assert abs(_aspect(text_only) - _aspect(Image.open(io.BytesIO(sketch)))) > 0.1


def _aspect(image: Image.Image) -> float:
    cut = figure_cutout(image)
    assert cut is not None
    return cut[1].width / cut[1].height


def test_an_uploaded_file_reference_is_followed_like_an_inline_one(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    green = (40, 150, 70)
    path = tmp_path / "sketch.png"
    path.write_bytes(_sketch(green))
    uploaded = genai_client.files.upload(file=path, config={"mime_type": "image/png"})
    assert uploaded.uri and uploaded.mime_type
    drawn = _image_of(
        genai_client.models.generate_content(
            model=IMAGE_MODEL,
            contents=_with_prompt(_uri_part(uploaded.uri)),
            config=CONFIG,
        )
    )
    assert _near(figure_colours(drawn)[0], figure_colours(Image.open(path))[0])


@pytest.mark.parametrize("model", [IMAGE_MODEL, "gemini-2.5-flash-image"])
def test_the_documented_number_of_references_is_accepted_and_one_more_refused(
    genai_client: genai.Client, model: str
) -> None:
    limit = max_reference_images(model)
    reference: types.Part = types.Part.from_bytes(
        data=png_bytes((90, 60, 200)), mime_type="image/png"
    )
    accepted = genai_client.models.generate_content(
        model=model, contents=_with_prompt(*[reference] * limit), config=CONFIG
    )
    assert _image_of(accepted)
    with pytest.raises(errors.ClientError) as refused:
        genai_client.models.generate_content(
            model=model, contents=_with_prompt(*[reference] * (limit + 1)), config=CONFIG
        )
    assert refused.value.code == 400
    assert refused.value.status == "INVALID_ARGUMENT"
    assert str(limit) in (refused.value.message or "")


def test_limits_are_the_documented_figures() -> None:
    assert max_reference_images("gemini-3-pro-image-preview") == 14
    assert max_reference_images("models/gemini-2.5-flash-image") == 3
    assert max_reference_images("gemini-2.5-flash") == 3000


def test_too_many_references_in_a_stream_answer_google_s_error_body(
    emulator: RunningEmulator,
) -> None:
    import base64

    data = base64.b64encode(png_bytes((10, 200, 90))).decode()
    parts = [{"text": PROMPT}] + [{"inlineData": {"mimeType": "image/png", "data": data}}] * 15
    body = json.dumps({"contents": [{"role": "user", "parts": parts}]}).encode()
    status, _, answer = raw(
        emulator, "POST", f"/v1beta/models/{IMAGE_MODEL}:streamGenerateContent?alt=sse", body
    )
    assert status == 400
    error = error_of(answer)
    assert error["code"] == 400 and error["status"] == "INVALID_ARGUMENT"
