"""Pixels -> facts: palette by colour quantisation, mood from brightness and contrast,
art style from edge density and colour count, orientation from the size."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

from PIL import Image, ImageFilter, ImageStat

from chargen_resources.emulator.colours import RGB, colours_in_text
from chargen_resources.emulator.facts import (
    Facts,
    PaletteColour,
    archetype_word,
    mood_family,
    palette_colour,
    stable_int,
)

PALETTE_SIZE = 5
_SAMPLE = 96  # analysis works on a small copy: fast, and enough for palette and statistics


def _palette(image: Image.Image) -> list[PaletteColour]:
    small = image.convert("RGB").resize((_SAMPLE, _SAMPLE), Image.Resampling.BILINEAR)
    quantised = small.quantize(colors=PALETTE_SIZE, method=Image.Quantize.MEDIANCUT)
    flat: list[int] = list(quantised.getpalette() or [])
    counts: list[tuple[int, int]] = sorted(quantised.getcolors() or [], reverse=True)  # type: ignore[arg-type]
    total = sum(count for count, _ in counts) or 1
    colours: list[PaletteColour] = []
    for count, index in counts:
        rgb: RGB = (flat[index * 3], flat[index * 3 + 1], flat[index * 3 + 2])
        colours.append(palette_colour(rgb, count / total))
    return colours


def _saturation(palette: Sequence[PaletteColour]) -> float:
    """Share-weighted HSV saturation; near-black colours count as unsaturated."""
    total = 0.0
    for colour in palette:
        _, sat, value = colorsys.rgb_to_hsv(*(c / 255 for c in colour.rgb))
        total += colour.share * (sat if value > 0.08 else 0.0)
    return total


def _temperature(palette: Sequence[PaletteColour]) -> str:
    warm = sum(c.share for c in palette if c.rgb[0] > c.rgb[2] + 30)
    cool = sum(c.share for c in palette if c.rgb[2] > c.rgb[0] + 30)
    if warm > cool + 0.2:
        return "warm"
    if cool > warm + 0.2:
        return "cool"
    return "neutral"


def mood_from(brightness: float, contrast: float, saturation: float) -> str:
    if brightness < 0.3:
        return "dark"
    if contrast > 0.45:
        return "dramatic"
    if brightness > 0.6 and saturation > 0.35:
        return "cheerful"
    if saturation > 0.55:
        return "dramatic"
    return "calm"


def style_from(edge_density: float, colour_count: int, saturation: float) -> str:
    if colour_count <= 2 and edge_density < 0.02:
        return "minimalist flat"
    if edge_density > 0.18 and saturation < 0.15:
        return "line art"
    if colour_count <= 24 and edge_density > 0.05:
        return "pixel art"
    if colour_count <= 24:
        return "cel-shaded"
    if edge_density > 0.12:
        return "detailed illustration"
    return "painterly"


def orientation_of(width: int, height: int) -> str:
    if width > height * 1.05:
        return "landscape"
    if height > width * 1.05:
        return "portrait"
    return "square"


def archetype_from_colours(palette: Sequence[PaletteColour], mood: str) -> str:
    if mood == "dark":
        return "rogue"
    lead = palette[0].rgb if palette else (128, 128, 128)
    hue, _light, sat = colorsys.rgb_to_hls(*(c / 255 for c in lead))
    if sat < 0.15:
        return "knight"
    degrees = hue * 360
    if degrees < 40 or degrees >= 330:
        return "warrior"
    if degrees < 70:
        return "paladin"
    if degrees < 170:
        return "ranger"
    return "mage"


def figure_shape(image: Image.Image) -> tuple[str, str]:
    """The drawn figure's build and stance, from where it differs from the paper's colour."""
    small = image.convert("L").resize((_SAMPLE * 2, _SAMPLE * 2), Image.Resampling.BILINEAR)
    paper = small.getpixel((0, 0))
    assert isinstance(paper, int)
    mask = small.point(lambda value: 255 if abs(value - paper) > 24 else 0)
    box = mask.getbbox()
    if box is None:
        return "upright", "standing, three-quarter view"
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    ratio = width / max(height, 1)
    build = "slender" if ratio < 0.4 else "broad" if ratio > 0.75 else "sturdy"
    if height > small.height * 0.8:
        build = f"tall {build}"
    stance = (
        "wide stance, arms out"
        if ratio > 0.75
        else "standing tall, facing forward"
        if ratio < 0.4
        else "standing, three-quarter view"
    )
    return build, stance


def image_facts(image: Image.Image, prompt: str = "") -> Facts:
    """Facts about one image (the first reference image leads when there are several)."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    luminance = rgb.convert("L").resize((_SAMPLE * 2, _SAMPLE * 2), Image.Resampling.BILINEAR)
    stat = ImageStat.Stat(luminance)
    brightness = stat.mean[0] / 255
    contrast = min(1.0, stat.stddev[0] / 128)
    edges = luminance.filter(ImageFilter.FIND_EDGES)
    histogram = edges.histogram()
    edge_density = sum(histogram[40:]) / (sum(histogram) or 1)
    palette = _palette(rgb)
    small = rgb.resize((_SAMPLE, _SAMPLE), Image.Resampling.NEAREST)
    colour_count = len(small.getcolors(_SAMPLE * _SAMPLE) or [])
    saturation = _saturation(palette)
    mood = mood_from(brightness, contrast, saturation)
    archetype = archetype_word(prompt) or archetype_from_colours(palette, mood)
    build, stance = figure_shape(rgb)
    return Facts(
        palette=palette,
        mood=mood,
        art_style=style_from(edge_density, colour_count, saturation),
        archetype=archetype,
        orientation=orientation_of(width, height),
        brightness=round(brightness, 4),
        contrast=round(contrast, 4),
        saturation=round(saturation, 4),
        edge_density=round(edge_density, 4),
        width=width,
        height=height,
        lighting="low-key" if brightness < 0.3 else "high-key" if brightness > 0.7 else "balanced",
        temperature=_temperature(palette),
        image_count=1,
        seed=stable_int(f"{palette[0].hex if palette else ''}:{prompt}"),
        build=build,
        stance=stance,
    )


def text_facts(prompt: str) -> Facts:
    """Facts for a request without images: whatever the prompt names, the rest by hash."""
    seed = stable_int(prompt)
    named = colours_in_text(prompt)
    if not named:
        choices: list[RGB] = [(70, 90, 160), (150, 40, 50), (60, 120, 70), (200, 160, 60)]
        named = [choices[seed % 4], choices[(seed // 4) % 4]]
    palette = [palette_colour(rgb, round(1 / len(named), 4)) for rgb in named[:PALETTE_SIZE]]
    mood = mood_family(prompt) or ("calm", "dramatic", "cheerful", "dark")[seed % 4]
    return Facts(
        palette=palette,
        mood=mood,
        art_style="painterly",
        archetype=archetype_word(prompt) or archetype_from_colours(palette, mood),
        orientation="portrait",
        brightness=0.2 if mood == "dark" else 0.6,
        contrast=0.3,
        saturation=0.5,
        edge_density=0.1,
        temperature=_temperature(palette),
        seed=seed,
    )


def request_facts(images: Sequence[Image.Image], prompt: str) -> Facts:
    if not images:
        return text_facts(prompt)
    facts = image_facts(images[0], prompt)
    if len(images) > 1:
        facts = facts.model_copy(update={"image_count": len(images)})
    return facts
