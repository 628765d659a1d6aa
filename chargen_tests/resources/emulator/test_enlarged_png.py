from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from chargen_resources.emulator.enlarged_png import enlarged_png
from chargen_resources.emulator.image_model import DRAW_DIVISOR
from chargen_resources.gemini.image_sizes import SIZE_SCALES, SIZES_1K, SIZES_1K_GEMINI_2


def speckled(size: tuple[int, int], mode: str = "RGB", seed: int = 7) -> Image.Image:
    """Every pixel its own colour: any misplaced row or column shows."""
    rng = random.Random(seed)
    channels = len(mode)
    data = bytes(rng.randrange(256) for _ in range(size[0] * size[1] * channels))
    return Image.frombytes(mode, size, data)


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def answer_sizes() -> list[tuple[int, int]]:
    """Every size the emulator answers with: each ratio at 1K, 2K and 4K, and Gemini 2's."""
    sizes = {(w * scale, h * scale) for w, h in SIZES_1K.values() for scale in SIZE_SCALES.values()}
    return sorted(sizes | set(SIZES_1K_GEMINI_2.values()))


@pytest.mark.parametrize("size", answer_sizes())
def test_the_same_pixels_as_pillows_nearest_enlargement_at_every_answer_size(
    size: tuple[int, int],
) -> None:
    canvas = speckled((max(1, size[0] // DRAW_DIVISOR), max(1, size[1] // DRAW_DIVISOR)))
    png = enlarged_png(canvas, size, compress_level=1)
    if png is None:  # a height that is not a whole multiple: the caller enlarges with Pillow
        assert size[1] % canvas.height
        return
    image = decoded(png)
    assert (image.format, image.mode, image.size) == ("PNG", "RGB", size)
    assert image.tobytes() == canvas.resize(size, Image.Resampling.NEAREST).tobytes()


def test_transparency_is_kept() -> None:
    canvas = speckled((5, 3), "RGBA")
    image = decoded(enlarged_png(canvas, (17, 12), compress_level=6) or b"")
    assert image.mode == "RGBA"
    assert image.tobytes() == canvas.resize((17, 12), Image.Resampling.NEAREST).tobytes()


def test_what_this_writer_cannot_write_exactly_is_left_to_pillow() -> None:
    assert enlarged_png(speckled((4, 3)), (8, 7), compress_level=1) is None  # 7 rows from 3
    assert enlarged_png(speckled((4, 3)), (8, 0), compress_level=1) is None
    assert enlarged_png(speckled((4, 3)).convert("L"), (8, 6), compress_level=1) is None
    keyed = speckled((4, 3))
    keyed.info["transparency"] = (0, 0, 0)  # Pillow would write a tRNS chunk
    assert enlarged_png(keyed, (8, 6), compress_level=1) is None
