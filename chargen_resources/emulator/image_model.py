"""Prompt -> PNG character: the archetype's silhouette, the named props, the palette and the
render style the prompt asks for, seeded by a hash. With a reference image, the figure's outline
and colours come from the reference instead (the first one leads).

Drawing happens on a canvas a quarter of the 1K size and is upscaled (nearest neighbour) to the
requested size, so even 4K answers stay quick and every byte is deterministic.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence

from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict

from chargen_resources.emulator import prompt_reading, props, sketch_regions, styles
from chargen_resources.emulator.colours import RGB, colours_in_text
from chargen_resources.emulator.enlarged_png import enlarged_png
from chargen_resources.emulator.facts import FAMILY_PROPS, archetype_family, mood_family
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
    props: list[str] = []  # prop kinds (prompt_reading.PROP_WORDS keys, or "item")
    style: str = "painterly"  # a styles.STYLES key, or "painterly" for the plain drawing
    body_width: float = 1.0
    body_height: float = 1.0


# What an archetype wears on its head when the prompt names no headgear: part of its silhouette.
FAMILY_HEADGEAR: dict[str, str] = {"knight": "helm", "mage": "hat", "rogue": "hood"}
HEADGEAR = frozenset({"crown", "hat", "hood", "helm", "horns"})


class ReferenceFigure(BaseModel):
    """The first reference image's figure: its cut-out pixels, outline mask and colours."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    pixels: Image.Image
    mask: Image.Image
    colours: list[RGB]


def reference_figure(image: Image.Image) -> ReferenceFigure | None:
    """The figure in a reference image, reduced to its own dominant colours; None if blank."""
    regions = sketch_regions.figure_regions(image)  # measured once for both
    cut = sketch_regions.figure_cutout(image, regions=regions)
    colours = sketch_regions.figure_colours(image, regions=regions)
    if cut is None or not colours:
        return None
    pixels, mask = cut
    palette = Image.new("P", (1, 1))
    palette.putpalette([channel for rgb in colours for channel in rgb] * (256 // len(colours)))
    posterised = pixels.quantize(palette=palette, dither=Image.Dither.NONE).convert("RGB")
    return ReferenceFigure(pixels=posterised, mask=mask, colours=colours)


def default_props(family: str) -> list[str]:
    """The archetype's usual kit, for a prompt that names no props."""
    return prompt_reading.props_in("Carries: " + ", ".join(FAMILY_PROPS.get(family, ())) + ".")


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


def character_spec(prompt: str, seed: int, reference_colours: Sequence[RGB] = ()) -> CharacterSpec:
    """What to draw. A reference's colours lead: the model follows the sketch it was given."""
    rng = random.Random(seed)
    named = [*reference_colours, *colours_in_text(prompt)]
    defaults: list[RGB] = [
        (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220)) for _ in range(3)
    ]
    chosen = [*named, *defaults]
    family = archetype_family(prompt) or "adventurer"
    kinds = prompt_reading.props_in(prompt) or default_props(family)
    if family in FAMILY_HEADGEAR and not HEADGEAR.intersection(kinds):
        kinds.append(FAMILY_HEADGEAR[family])
    width, height = prompt_reading.build_in(prompt)
    return CharacterSpec(
        primary=chosen[0],
        secondary=chosen[1],
        accent=chosen[2],
        archetype=family,
        mood=mood_family(prompt) or "neutral",
        seed=seed,
        props=kinds,
        style=prompt_reading.style_in(prompt),
        body_width=width,
        body_height=height,
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


def draw_character(
    spec: CharacterSpec, width: int, height: int, reference: ReferenceFigure | None = None
) -> Image.Image:
    """The character on a (width x height) canvas; all sizes derive from the canvas."""
    rng = random.Random(spec.seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = _BACKDROPS.get(spec.mood, _BACKDROPS["neutral"])
    for y in range(height):
        draw.line([(0, y), (width, y)], fill=_mix(top, bottom, y / max(1, height - 1)))
    unit = min(width, height) / 100 * spec.body_height  # the figure is 100 units tall, centred
    sx = spec.body_width  # the build widens or narrows everything drawn on the figure
    cx = width / 2 + rng.uniform(-3, 3) * unit
    base = height / 2 + 45 * unit

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        xa, xb = sorted((cx + x0 * sx * unit, cx + x1 * sx * unit))
        ya, yb = sorted((base - y0 * unit, base - y1 * unit))
        return [xa, ya, xb, yb]

    def point(x: float, y: float) -> tuple[float, float]:
        return (cx + x * sx * unit, base - y * unit)

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
    if reference is not None:
        _paste_reference(image, reference, box(-50, 100, 50, 0))
        return image
    pen = props.Pen(draw, point, box, unit, spec.primary, spec.secondary, spec.accent)
    placed = props.place(spec.props)
    for kind, side in placed:
        if kind in props.BEHIND:
            props.draw_prop(pen, kind, side)
    _draw_body(draw, spec, point, box, unit, angular)
    for kind, side in placed:
        if kind not in props.BEHIND:
            props.draw_prop(pen, kind, side)
    return image


def _paste_reference(image: Image.Image, reference: ReferenceFigure, frame: list[float]) -> None:
    """The reference's figure, scaled to the figure's frame (aspect kept), standing on its base."""
    left, top, right, bottom = frame
    scale = min((right - left) / reference.mask.width, (bottom - top) / reference.mask.height)
    size = (
        max(1, round(reference.mask.width * scale)),
        max(1, round(reference.mask.height * scale)),
    )
    pixels = reference.pixels.resize(size, Image.Resampling.NEAREST)
    mask = reference.mask.resize(size, Image.Resampling.NEAREST)
    x = round((left + right) / 2 - size[0] / 2)
    image.paste(pixels, (x, round(bottom - size[1])), mask)


PointFn = Callable[[float, float], tuple[float, float]]
BoxFn = Callable[[float, float, float, float], list[float]]


def _draw_body(
    draw: ImageDraw.ImageDraw,
    spec: CharacterSpec,
    point: PointFn,
    box: BoxFn,
    unit: float,
    angular: bool,
) -> None:
    """Legs, torso (a robe for mages and clerics), shoulders, arms and head."""
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
    if angular or spec.archetype in ("knight", "warrior"):  # spiky pauldrons
        draw.polygon([point(-15, 64), point(-24, 70), point(-17, 58)], fill=dark_primary)
        draw.polygon([point(15, 64), point(24, 70), point(17, 58)], fill=dark_primary)
    else:
        draw.ellipse(box(-21, 68, -11, 58), fill=dark_primary)
        draw.ellipse(box(11, 68, 21, 58), fill=dark_primary)
    draw.rectangle(box(-21, 62, -16, 36), fill=dark_primary)  # arms
    draw.rectangle(box(16, 62, 21, 36), fill=dark_primary)
    for hand in (-1, 1):
        draw.ellipse(box(hand * 18.5 - 2.6, 38.5, hand * 18.5 + 2.6, 33.5), fill=skin)
    head = box(-9, 84, 9, 66)
    if spec.archetype == "robot":
        draw.rectangle(head, fill=(170, 175, 185))
        draw.rectangle(box(-6, 79, -2, 75), fill=spec.accent)
        draw.rectangle(box(2, 79, 6, 75), fill=spec.accent)
        draw.line([point(0, 84), point(0, 91)], fill=(90, 90, 100), width=max(1, int(unit)))
        draw.ellipse(box(-2, 93, 2, 89), fill=spec.accent)
        draw.rectangle(box(-8, 58, 8, 46), outline=spec.accent, width=max(1, int(unit * 1.5)))
        return
    draw.ellipse(head, fill=skin)
    eye = max(1.0, unit * 1.2)
    for eye_x in (-3.5, 3.5):
        ex, ey = point(eye_x, 76)
        draw.ellipse([ex - eye, ey - eye, ex + eye, ey + eye], fill=(30, 30, 40))
    if spec.archetype == "cleric":  # a halo: the one mark no prop stands for
        draw.ellipse(box(-11, 92, 11, 88), outline=spec.accent, width=max(1, int(unit * 1.5)))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _finished_png(canvas: Image.Image, spec: CharacterSpec, size: tuple[int, int]) -> bytes:
    """The styled canvas at `size`, as PNG: smoothly enlarged for the soft styles, by repeated
    pixels for the rest (written without the enlarged picture, see enlarged_png)."""
    styled = styles.apply_style(canvas, spec.style, spec.seed)
    if styled.size == size:
        return _png(styled)
    if spec.style in styles.SMOOTH_UPSCALE:
        return _png(styled.resize(size, Image.Resampling.BILINEAR))
    enlarged = enlarged_png(styled, size, PNG_COMPRESS_LEVEL)
    return enlarged or _png(styled.resize(size, Image.Resampling.NEAREST))


def render_png(
    spec: CharacterSpec,
    width: int,
    height: int,
    divisor: int = DRAW_DIVISOR,
    reference: ReferenceFigure | None = None,
) -> bytes:
    canvas = draw_character(spec, max(1, width // divisor), max(1, height // divisor), reference)
    return _finished_png(canvas, spec, (width, height))


def render_draft(
    spec: CharacterSpec,
    width: int,
    height: int,
    step: int,
    reference: ReferenceFigure | None = None,
) -> bytes:
    """A smaller, rougher 'thought' image: the composition before the final render."""
    draft_spec = spec.model_copy(update={"seed": spec.seed + step})
    size = (max(1, width // 8), max(1, height // 8))
    canvas = draw_character(draft_spec, *size, reference)
    if step == 1:
        canvas = canvas.convert("L").convert("RGB")
    return _png(canvas)
