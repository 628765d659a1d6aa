"""The figure in a sketch: the run-based flood fill against Pillow's pixel flood fill."""

import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from chargen_resources.emulator.sketch_regions import figure_mask, figure_regions, paper_reach

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "inbox"


def _pillow_reach(marks: Image.Image, seeds: list[tuple[int, int]]) -> bytes:
    """What the emulator computed before: Pillow's flood fill from each unmarked seed."""
    filled = marks.copy()
    for seed in seeds:
        if filled.getpixel(seed) == 0:
            ImageDraw.floodfill(filled, seed, 128)
    return filled.point(lambda value: 0 if value == 128 else 255).tobytes()


def _border(width: int, height: int, step: int) -> list[tuple[int, int]]:
    seeds = [(x, y) for x in range(0, width, step) for y in (0, height - 1)]
    return seeds + [(x, y) for y in range(0, height, step) for x in (0, width - 1)]


@pytest.mark.parametrize("seed", range(12))
def test_same_region_as_a_pixel_flood_fill(seed: int) -> None:
    rng = random.Random(seed)
    width, height = rng.randint(3, 60), rng.randint(3, 60)
    density = rng.choice([0.2, 0.4, 0.55])  # around the percolation threshold: winding paths
    marks = Image.frombytes(
        "L",
        (width, height),
        bytes(255 if rng.random() < density else 0 for _ in range(width * height)),
    )
    seeds = _border(width, height, rng.randint(1, 4))
    assert bytes(paper_reach(marks.tobytes(), width, seeds)) == _pillow_reach(marks, seeds)


def test_an_enclosed_hole_is_figure_and_open_paper_is_not() -> None:
    marks = Image.new("L", (40, 30), 0)
    ImageDraw.Draw(marks).rectangle((10, 5, 30, 25), outline=255)  # a closed outline
    reach = paper_reach(marks.tobytes(), 40, _border(40, 30, 1))
    assert reach[15 * 40 + 20] == 255  # inside the outline: the paper cannot get there
    assert reach[2 * 40 + 2] == 0  # outside it: paper
    assert reach[5 * 40 + 10] == 255  # the outline itself


def test_a_seed_on_a_mark_reaches_nothing() -> None:
    marks = Image.new("L", (5, 5), 255)
    assert bytes(paper_reach(marks.tobytes(), 5, [(0, 0), (4, 4)])) == b"\xff" * 25


def test_bundled_sketches_mask_as_before() -> None:
    sketches = sorted(SAMPLES.glob("*/*.png"))[:4]
    assert sketches, "the bundled samples hold PNG sketches"
    for path in sketches:
        with Image.open(path) as opened:
            small, mask = figure_regions(opened)
        marks_before = _pillow_mask(small)
        assert mask.tobytes() == marks_before.tobytes(), path.name
        assert 0 < sum(1 for value in mask.tobytes() if value) < mask.width * mask.height


def _pillow_mask(small: Image.Image) -> Image.Image:
    """figure_mask as it was, with Pillow's flood fill, for the comparison above."""
    from PIL import ImageChops, ImageFilter

    from chargen_resources.emulator.sketch_regions import PAPER_DISTANCE, paper

    difference = ImageChops.difference(small, paper(small))
    red, green, blue = difference.split()
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    marks = strongest.point(lambda value: 255 if value > PAPER_DISTANCE else 0)
    step = max(1, min(marks.size) // 32)
    reach = _pillow_reach(marks, _border(*marks.size, step))
    return Image.frombytes("L", marks.size, reach).filter(ImageFilter.MedianFilter(3))


def test_figure_mask_keeps_the_image_size() -> None:
    image = Image.new("RGB", (50, 80), (240, 235, 220))
    ImageDraw.Draw(image).ellipse((10, 20, 40, 70), fill=(30, 60, 90))
    mask = figure_mask(image)
    assert mask.size == (50, 80)
    assert mask.getpixel((25, 45)) == 255 and mask.getpixel((2, 2)) == 0
