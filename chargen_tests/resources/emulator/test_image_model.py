"""The image model: sizes, determinism, and colours taken from the prompt."""

import io

import pytest
from PIL import Image

from chargen_resources.emulator.image_model import character_spec, output_size, render_png
from chargen_resources.emulator.wire import ApiError


def test_sizes_follow_ratio_and_scale_only_gemini_3() -> None:
    assert output_size("9:16", "1K") == (768, 1376)
    assert output_size("9:16", "2K") == (1536, 2752)
    assert output_size("1:1", None) == (1024, 1024)
    assert output_size("16:9", "4K", model="gemini-2.5-flash-image") == (1344, 768)
    with pytest.raises(ApiError):
        output_size("7:3", "1K")
    with pytest.raises(ApiError):
        output_size("1:1", "8K")


def test_rendering_is_deterministic_and_uses_the_named_colours() -> None:
    spec = character_spec("a crimson knight with a teal cape", seed=7)
    assert spec.archetype == "knight"
    first = render_png(spec, 256, 256)
    assert first == render_png(spec, 256, 256)
    with Image.open(io.BytesIO(first)) as image:
        assert image.size == (256, 256)
        colours = {rgb for _, rgb in image.convert("RGB").getcolors(256 * 256) or []}
    assert spec.primary in colours
