"""The image model: sizes, determinism, and colours taken from the prompt."""

import io

import pytest
from PIL import Image, ImageChops

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


def _render(prompt: str, size: tuple[int, int] = (192, 344), seed: int = 11) -> Image.Image:
    from chargen_resources.emulator.facts import stable_int

    spec = character_spec(prompt, seed=seed or stable_int(prompt))
    return Image.open(io.BytesIO(render_png(spec, *size))).convert("RGB")


def _distance(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute pixel difference (0-255) of two images, compared at a small common size."""
    from PIL import ImageChops, ImageStat

    small = (48, 86)
    diff = ImageChops.difference(a.resize(small), b.resize(small))
    return sum(ImageStat.Stat(diff).mean) / 3


def _sample_prompts() -> dict[str, str]:
    """The ten bundled characters' prompts, built as the pipeline builds them."""
    from pathlib import Path

    from chargen_resources.characters.prompt_compiler import PromptInputs, compile_prompt
    from chargen_resources.characters.prompt_template import load_template
    from chargen_resources.inbox.character_spec import parse_character_spec
    from chargen_tests.resources.emulator.bundled_samples import sample_readings

    prompts: dict[str, str] = {}
    for key, (character, analysis) in sample_readings().items():
        sheet = (
            parse_character_spec(Path(character.spec_file.ref).read_bytes(), key)
            if character.spec_file
            else None
        )
        inputs = PromptInputs(
            character=key,
            display_name=sheet.display_name if sheet else None,
            notes=sheet.notes if sheet else None,
            style_override=sheet.style_override if sheet else None,
        )
        prompts[key] = compile_prompt(analysis, inputs, load_template()).text
    return prompts


def test_the_ten_bundled_characters_render_as_ten_different_figures() -> None:
    prompts = _sample_prompts()
    assert len(prompts) == 10
    images = {key: _render(prompt, seed=0) for key, prompt in prompts.items()}
    keys = sorted(images)
    for number, first in enumerate(keys):
        for second in keys[number + 1 :]:
            assert _distance(images[first], images[second]) > 4, (first, second)
    assert character_spec(prompts["tide-oracle"], seed=1).style == "watercolour"


def test_a_named_prop_is_drawn_where_it_is_held() -> None:
    base = "A calm mage in navy and gold. Render style: painterly."
    staff = _render(base + " Carries: carved staff.", size=(400, 400))
    book = _render(base + " Carries: spellbook.", size=(400, 400))
    # The figure's right hand is ~18 units of 4 px right of centre; a staff rises above it.
    above_right_hand = (276, 20, 330, 100)
    assert _distance(staff.crop(above_right_hand), book.crop(above_right_hand)) > 15
    left_half = (0, 0, 150, 400)  # the book sits in the left hand: the staff's side is empty
    assert _distance(staff.crop(left_half), book.crop(left_half)) > 1


def test_every_known_prop_word_and_an_unknown_one_change_the_figure() -> None:
    from chargen_resources.emulator.prompt_reading import PROP_WORDS

    plain = _render("A calm adventurer in teal. Carries: nothing special.")
    for kind, words in PROP_WORDS:
        drawn = _render(f"A calm adventurer in teal. Carries: {words[0]}.")
        assert _distance(plain, drawn) > 0.05, kind


def test_style_overrides_change_the_look() -> None:
    base = "A dramatic knight in crimson and gold. Carries: longsword, kite shield. "
    plain = _render(base + "Render style: painterly.")
    ink = _render(base + "Render style: noir ink drawing.")
    pixel = _render(base + "Render style: pixel art.")
    wash = _render(base + "Render style: watercolour storybook illustration.")
    red, green, blue = ink.split()
    assert ImageChops.difference(red, green).getbbox() is None  # monochrome: r == g == b
    assert ImageChops.difference(green, blue).getbbox() is None
    assert len(pixel.getcolors(192 * 344) or []) <= 16
    plain_colours = len(plain.getcolors(192 * 344) or [])
    assert len(wash.getcolors(192 * 344) or []) > 4 * plain_colours  # soft washes, no hard fills
    for styled in (ink, pixel, wash):
        assert _distance(plain, styled) > 5
