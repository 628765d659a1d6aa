"""The drawn figure in a sketch: its outline (a mask) and its colours, paper excluded.

The image model uses them to follow a reference image. Pure Pillow, no numpy. Paper is
estimated per row from the image's left and right borders, so vertical gradients (the usual
sketch backdrop) count as paper.
"""

from __future__ import annotations

import re
from collections import deque

from PIL import Image, ImageChops, ImageFilter

from chargen_resources.emulator.colours import RGB

PAPER_DISTANCE = 26  # how far (max channel) from the paper a pixel stops the paper's flood
# The mask is measured on a copy this tall: enough detail for a figure's outline, and quick.
_MASK_HEIGHT = 160
_UNMARKED_RUN = re.compile(rb"\x00+")
_OUTSIDE = 255  # a palette index past any quantised colour


def paper(image: Image.Image) -> Image.Image:
    """The paper behind the figure: each row's colour from the image's two outer columns,
    median-filtered down the rows so a prop touching the border does not count as paper."""
    rgb = image.convert("RGB")
    width, height = rgb.size
    edges = [rgb.crop((0, 0, 1, height)), rgb.crop((width - 1, 0, width, height))]
    left, right = (edge.filter(ImageFilter.MedianFilter(15)) for edge in edges)
    return Image.blend(left, right, 0.5).resize((width, height), Image.Resampling.NEAREST)


def figure_mask(image: Image.Image) -> Image.Image:
    """L image, 255 where the figure is (at the image's own size): everything the paper cannot
    reach from the border. Outlines stop the flood, so a teal robe on teal paper still counts."""
    rgb = image.convert("RGB")
    difference = ImageChops.difference(rgb, paper(rgb))
    red, green, blue = difference.split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    marks = strongest.point(lambda value: 255 if value > PAPER_DISTANCE else 0)
    width, height = marks.size
    step = max(1, min(width, height) // 32)
    border = [(x, y) for x in range(0, width, step) for y in (0, height - 1)]
    border += [(x, y) for y in range(0, height, step) for x in (0, width - 1)]
    mask = Image.frombytes("L", marks.size, bytes(paper_reach(marks.tobytes(), width, border)))
    return mask.filter(ImageFilter.MedianFilter(3))  # JPEG speckle is not figure


def _small(image: Image.Image) -> Image.Image:
    scale = _MASK_HEIGHT / max(1, image.height)
    size = (max(1, round(image.width * scale)), _MASK_HEIGHT)
    return image.convert("RGB").resize(size, Image.Resampling.BILINEAR)


def figure_regions(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """A small copy of the image and its figure mask, measured once for what follows."""
    small = _small(image)
    return small, figure_mask(small)


def figure_colours(
    image: Image.Image, count: int = 4, regions: tuple[Image.Image, Image.Image] | None = None
) -> list[RGB]:
    """The figure's dominant colours (paper excluded), most covered first."""
    small, mask = regions or figure_regions(image)
    if mask.getbbox() is None:
        return []
    quantised = small.quantize(colors=12, method=Image.Quantize.MEDIANCUT)
    flat = list(quantised.getpalette() or [])
    # Paper pixels go to an index the 12-colour palette never uses, so Pillow's histogram
    # counts the figure alone (a Python loop over the pixels was most of this function).
    quantised.paste(_OUTSIDE, mask=ImageChops.invert(mask))
    counts = quantised.histogram()[:_OUTSIDE]
    covered = sorted(
        (index for index, count in enumerate(counts) if count), key=lambda index: -counts[index]
    )
    return [
        (flat[index * 3], flat[index * 3 + 1], flat[index * 3 + 2]) for index in covered[:count]
    ]


def figure_cutout(
    image: Image.Image, regions: tuple[Image.Image, Image.Image] | None = None
) -> tuple[Image.Image, Image.Image] | None:
    """The figure cropped to its outline (RGB) and its mask (L); None on a blank page."""
    small, mask = regions or figure_regions(image)
    box = mask.getbbox()
    if box is None:
        return None
    return small.crop(box), mask.crop(box)


def paper_reach(marks: bytes, width: int, seeds: list[tuple[int, int]]) -> bytearray:
    """255 everywhere but the unmarked pixels (0 in `marks`, one byte each, rows of `width`)
    4-connected to an unmarked seed, which are 0: a flood fill from the seeds.

    It walks runs of unmarked pixels, not pixels: a run in one row reaches the runs it
    overlaps in the rows above and below. Pillow's own flood fill visits every pixel in
    Python, which made it most of the emulator's time per image request."""
    height = len(marks) // width
    runs = [
        [
            (found.start() - y * width, found.end() - y * width)
            for found in _UNMARKED_RUN.finditer(marks, y * width, (y + 1) * width)
        ]
        for y in range(height)
    ]
    reached: set[tuple[int, int]] = set()
    queue: deque[tuple[int, int]] = deque()
    for x, y in seeds:
        for index, (start, end) in enumerate(runs[y]):
            if start <= x < end and (y, index) not in reached:
                reached.add((y, index))
                queue.append((y, index))
    while queue:
        y, index = queue.popleft()
        start, end = runs[y][index]
        for row in (y - 1, y + 1):
            if 0 <= row < height:
                for other, (other_start, other_end) in enumerate(runs[row]):
                    if other_start < end and other_end > start and (row, other) not in reached:
                        reached.add((row, other))
                        queue.append((row, other))
    filled = bytearray(b"\xff") * len(marks)
    for y, index in reached:
        start, end = runs[y][index]
        filled[y * width + start : y * width + end] = bytes(end - start)
    return filled
