"""Render-style looks applied to a drawn canvas (style names from ``prompt_reading.STYLE_WORDS``).

Each takes the small drawing canvas and returns one of the same size; all deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PIL import Image, ImageChops, ImageFilter, ImageOps

PAPER = (246, 240, 226)


def _watercolour(image: Image.Image, seed: int) -> Image.Image:
    """Soft washes: blurred colour, lightened toward paper, blotchy pigment, darker edges."""
    width, height = image.size
    soft = image.filter(ImageFilter.GaussianBlur(max(1.0, min(width, height) / 90)))
    washed = Image.blend(soft, Image.new("RGB", image.size, PAPER), 0.45)
    rng = random.Random(seed)
    blotch = Image.new("L", (max(2, width // 24), max(2, height // 24)))
    blotch.putdata([rng.randrange(200, 256) for _ in range(blotch.width * blotch.height)])
    pigment = blotch.resize(image.size, Image.Resampling.BICUBIC).convert("RGB")
    edges = ImageOps.invert(image.convert("L").filter(ImageFilter.FIND_EDGES))
    rims = edges.point(lambda v: 150 + v * 105 // 255).convert("RGB")
    return ImageChops.multiply(ImageChops.multiply(washed, pigment), rims)


def _pixel(image: Image.Image, seed: int) -> Image.Image:
    """Big blocks and a small palette: downsample to about 48 px across and back."""
    width, height = image.size
    block = max(2, width // 48)
    small = image.resize((max(1, width // block), max(1, height // block)), Image.Resampling.BOX)
    small = small.quantize(colors=16, method=Image.Quantize.MEDIANCUT).convert("RGB")
    return small.resize(image.size, Image.Resampling.NEAREST)


def _ink(image: Image.Image, seed: int) -> Image.Image:
    """High-contrast monochrome: thresholded ink fills and black outlines on white."""
    grey = ImageOps.autocontrast(image.convert("L"), cutoff=2)
    fills = grey.point(lambda v: 0 if v < 70 else 110 if v < 140 else 255)
    lines = ImageOps.invert(grey.filter(ImageFilter.FIND_EDGES)).point(
        lambda v: 0 if v < 215 else 255
    )
    return ImageChops.multiply(fills, lines).convert("RGB")


def _neon(image: Image.Image, seed: int) -> Image.Image:
    """Glowing coloured outlines on a near-black ground."""
    edges = image.filter(ImageFilter.FIND_EDGES)
    boosted = edges.point(lambda v: min(255, v * 3))
    glow = boosted.filter(ImageFilter.GaussianBlur(max(1.0, image.width / 150)))
    dark = image.point(lambda v: v // 5)
    return ImageChops.add(ImageChops.add(dark, glow), boosted)


def _sketch(image: Image.Image, seed: int) -> Image.Image:
    """Graphite lines on paper."""
    lines = ImageOps.invert(image.convert("L").filter(ImageFilter.FIND_EDGES))
    return ImageChops.multiply(
        Image.new("RGB", image.size, PAPER),
        lines.point(lambda v: 90 + v * 165 // 255).convert("RGB"),
    )


def _flat(image: Image.Image, seed: int) -> Image.Image:
    """Cel shading: few tones per channel and dark outlines."""
    toned = ImageOps.posterize(image, 2)
    lines = ImageOps.invert(image.convert("L").filter(ImageFilter.FIND_EDGES))
    return ImageChops.multiply(toned, lines.point(lambda v: 0 if v < 200 else 255).convert("RGB"))


STYLES: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "watercolour": _watercolour,
    "pixel": _pixel,
    "ink": _ink,
    "neon": _neon,
    "sketch": _sketch,
    "flat": _flat,
}
# How a styled canvas is scaled up: soft looks smoothly, the rest keep their hard pixels.
SMOOTH_UPSCALE = frozenset({"watercolour", "sketch"})


def apply_style(image: Image.Image, style: str, seed: int) -> Image.Image:
    """The canvas in ``style``; 'painterly' and unknown styles are the plain drawing."""
    look = STYLES.get(style)
    return look(image.convert("RGB"), seed) if look else image
