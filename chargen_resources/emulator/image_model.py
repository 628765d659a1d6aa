"""Prompt -> PNG character: named colours, archetype silhouette and mood, seeded by a hash.

Drawing happens on a canvas a quarter of the 1K size and is upscaled (nearest neighbour) to the
requested size, so even 4K answers stay quick and every byte is deterministic.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw
from pydantic import BaseModel

from chargen_resources.emulator.colours import RGB, colours_in_text
from chargen_resources.emulator.facts import archetype_family, mood_family
from chargen_resources.emulator.wire import ApiError
from chargen_resources.gemini.image_sizes import (
    SIZE_SCALES,
    SIZES_1K,
    expected_size,
)

DRAW_DIVISOR = 4  # the canvas is 1K size / 4; every 1K side is a multiple of 4
PNG_COMPRESS_LEVEL = 1


class CharacterSpec(BaseModel):
    primary: RGB
    secondary: RGB
    accent: RGB
    archetype: str  # an ARCHETYPE_FAMILIES key or "adventurer"
    mood: str  # a MOOD_FAMILIES key or "neutral"
    seed: int


def output_size(
    aspect_ratio: str | None, image_size: str | None, model: str = ""
) -> tuple[int, int]:
    """Pixel size of an answer; imageSize only scales the Gemini 3 image models."""
    ratio = aspect_ratio or "1:1"
    size = image_size or "1K"
    if ratio not in SIZES_1K:
        raise ApiError(
            400,
            f"Unsupported aspect ratio '{ratio}'. Supported: {', '.join(SIZES_1K)}.",
        )
    if size not in SIZE_SCALES:
        raise ApiError(400, f"Unsupported image size '{size}'. Supported: 1K, 2K, 4K.")
    found = expected_size(model, ratio, size)
    assert found is not None
    return found


def character_spec(prompt: str, seed: int, fallback_colours: Sequence[RGB] = ()) -> CharacterSpec:
    rng = random.Random(seed)
    named = colours_in_text(prompt) or list(fallback_colours)
    defaults: list[RGB] = [
        (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220)) for _ in range(3)
    ]
    chosen = [*named, *defaults]
    return CharacterSpec(
        primary=chosen[0],
        secondary=chosen[1],
        accent=chosen[2],
        archetype=archetype_family(prompt) or "adventurer",
        mood=mood_family(prompt) or "neutral",
        seed=seed,
    )


def _shade(rgb: RGB, factor: float) -> RGB:
    return (
        max(0, min(255, int(rgb[0] * factor))),
        max(0, min(255, int(rgb[1] * factor))),
        max(0, min(255, int(rgb[2] * factor))),
    )


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        int(a[0] + (b[0] - a[0]) * t),
        int(a[1] + (b[1] - a[1]) * t),
        int(a[2] + (b[2] - a[2]) * t),
    )


_BACKDROPS: dict[str, tuple[RGB, RGB]] = {
    "dark": ((12, 10, 20), (50, 40, 70)),
    "cheerful": ((255, 236, 170), (170, 220, 255)),
    "calm": ((200, 220, 230), (235, 240, 235)),
    "dramatic": ((120, 20, 30), (20, 20, 40)),
    "neutral": ((210, 210, 215), (160, 165, 175)),
}
_SKIN_TONES: tuple[RGB, ...] = ((241, 194, 125), (198, 134, 66), (141, 85, 36), (255, 219, 172))


def draw_character(spec: CharacterSpec, width: int, height: int) -> Image.Image:
    """The character on a (width x height) canvas; all sizes derive from the canvas."""
    rng = random.Random(spec.seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = _BACKDROPS.get(spec.mood, _BACKDROPS["neutral"])
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=_mix(top, bottom, y / max(1, height - 1)))
    unit = min(width, height) / 100  # the figure is 100 units tall, centred
    cx = width / 2 + rng.uniform(-3, 3) * unit
    base = height / 2 + 45 * unit

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [cx + x0 * unit, base - y0 * unit, cx + x1 * unit, base - y1 * unit]

    def point(x: float, y: float) -> tuple[float, float]:
        return (cx + x * unit, base - y * unit)

    angular = spec.mood in ("dark", "dramatic")
    for _ in range(rng.randrange(6, 14)):  # mood particles: stars for dark, bubbles otherwise
        px, py = rng.uniform(0, width), rng.uniform(0, height * 0.6)
        size = rng.uniform(0.6, 1.8) * unit
        glow = _mix(spec.accent, (255, 255, 255), 0.5)
        if angular:
            draw.polygon(
                [(px, py - size), (px + size / 3, py), (px, py + size), (px - size / 3, py)],
                fill=glow,
            )
        else:
            draw.ellipse([px - size, py - size, px + size, py + size], outline=glow)
    draw.ellipse(box(-22, 3, 22, -3), fill=_shade(bottom, 0.6))  # ground shadow
    dark_primary = _shade(spec.primary, 0.65)
    skin = _SKIN_TONES[spec.seed % len(_SKIN_TONES)]
    legs = _shade(spec.secondary, 0.8)
    draw.rectangle(box(-9, 40, -3, 0), fill=legs)
    draw.rectangle(box(3, 40, 9, 0), fill=legs)
    if spec.archetype in ("mage", "cleric"):
        draw.polygon(
            [point(-20, 0), point(20, 0), point(11, 62), point(-11, 62)], fill=spec.primary
        )
    else:
        draw.polygon(
            [point(-13, 38), point(13, 38), point(15, 64), point(-15, 64)], fill=spec.primary
        )
    draw.rectangle(box(-13, 42, 13, 38), fill=spec.accent)  # belt
    if angular:  # spiky shoulders
        draw.polygon([point(-15, 64), point(-24, 70), point(-17, 58)], fill=dark_primary)
        draw.polygon([point(15, 64), point(24, 70), point(17, 58)], fill=dark_primary)
    else:
        draw.ellipse(box(-21, 68, -11, 58), fill=dark_primary)
        draw.ellipse(box(11, 68, 21, 58), fill=dark_primary)
    draw.rectangle(box(-21, 62, -16, 36), fill=dark_primary)  # arms
    draw.rectangle(box(16, 62, 21, 36), fill=dark_primary)
    head = box(-9, 84, 9, 66)
    if spec.archetype == "robot":
        draw.rectangle(head, fill=(170, 175, 185))
        draw.rectangle(box(-6, 79, -2, 75), fill=spec.accent)
        draw.rectangle(box(2, 79, 6, 75), fill=spec.accent)
        draw.line([point(0, 84), point(0, 91)], fill=(90, 90, 100), width=max(1, int(unit)))
        draw.ellipse(box(-2, 93, 2, 89), fill=spec.accent)
    else:
        draw.ellipse(head, fill=skin)
        eye = max(1.0, unit * 1.2)
        for eye_x in (-3.5, 3.5):
            ex, ey = point(eye_x, 76)
            draw.ellipse([ex - eye, ey - eye, ex + eye, ey + eye], fill=(30, 30, 40))
    _draw_gear(draw, spec, point, box, unit)
    return image


PointFn = Callable[[float, float], tuple[float, float]]
BoxFn = Callable[[float, float, float, float], list[float]]


def _draw_gear(
    draw: ImageDraw.ImageDraw, spec: CharacterSpec, point: PointFn, box: BoxFn, unit: float
) -> None:
    line = max(1, int(unit * 1.5))
    metal = (190, 195, 205)
    if spec.archetype == "knight":
        draw.rectangle(box(-10, 86, 10, 70), fill=metal)
        draw.rectangle(box(-7, 79, 7, 77), fill=(40, 40, 50))  # visor slit
        draw.polygon(
            [point(-30, 62), point(-18, 62), point(-18, 44), point(-24, 36), point(-30, 44)],
            fill=spec.secondary,
            outline=spec.accent,
        )
        draw.line([point(24, 36), point(24, 80)], fill=metal, width=line)
        draw.line([point(19, 44), point(29, 44)], fill=spec.accent, width=line)
    elif spec.archetype == "mage":
        draw.polygon([point(-13, 82), point(13, 82), point(2, 104)], fill=spec.secondary)
        draw.line([point(26, 0), point(26, 84)], fill=(110, 70, 40), width=line)
        draw.ellipse(box(22, 92, 30, 84), fill=spec.accent)
    elif spec.archetype == "rogue":
        draw.polygon(
            [
                point(-12, 70),
                point(-11, 86),
                point(0, 92),
                point(11, 86),
                point(12, 70),
                point(8, 80),
                point(-8, 80),
            ],
            fill=_shade(spec.primary, 0.4),
        )
        draw.rectangle(box(-8, 74, 8, 70), fill=(25, 25, 30))  # mask
        for side in (-1, 1):
            draw.line([point(side * 19, 38), point(side * 25, 28)], fill=metal, width=line)
    elif spec.archetype == "ranger":
        draw.polygon(
            [point(-16, 66), point(16, 66), point(22, 10), point(-22, 10)],
            fill=_shade(spec.secondary, 0.7),
        )
        draw.arc(box(-36, 80, -18, 20), start=270, end=90, fill=(120, 80, 40), width=line)
        draw.rectangle(box(14, 70, 20, 46), fill=spec.accent)  # quiver
    elif spec.archetype == "warrior":
        draw.line([point(24, 30), point(24, 84)], fill=(110, 70, 40), width=line)
        draw.polygon([point(24, 84), point(34, 88), point(34, 72), point(24, 76)], fill=metal)
    elif spec.archetype == "cleric":
        draw.ellipse(box(-11, 92, 11, 88), outline=spec.accent, width=line)
        draw.line([point(-24, 34), point(-24, 70)], fill=spec.accent, width=line)
    elif spec.archetype == "robot":
        draw.rectangle(box(-8, 58, 8, 46), outline=spec.accent, width=line)
    else:
        draw.rectangle(box(-19, 62, -13, 44), fill=_shade(spec.secondary, 0.7))  # backpack


def render_png(spec: CharacterSpec, width: int, height: int, divisor: int = DRAW_DIVISOR) -> bytes:
    canvas = draw_character(spec, max(1, width // divisor), max(1, height // divisor))
    if canvas.size != (width, height):
        canvas = canvas.resize((width, height), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def render_draft(spec: CharacterSpec, width: int, height: int, step: int) -> bytes:
    """A smaller, rougher 'thought' image: the composition before the final render."""
    draft_spec = spec.model_copy(update={"seed": spec.seed + step})
    canvas = draw_character(draft_spec, max(1, width // 8), max(1, height // 8))
    if step == 1:
        canvas = canvas.convert("L").convert("RGB")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
