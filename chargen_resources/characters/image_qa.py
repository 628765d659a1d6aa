"""Quality checks of one generated image: what a person would otherwise find by looking.

Each check is a name, a verdict and a sentence. They run once, when the image is kept, on the
bytes in hand, and travel with the image's record; the `character_image` asset reports them as
per-character asset checks, and the catalog lists the characters that fail one.
"""

from __future__ import annotations

import io
from typing import IO

from PIL import Image, ImageStat, UnidentifiedImageError
from pydantic import BaseModel

from chargen_resources.gemini.image_sizes import expected_size

CHECKS = ("png_decodes", "size_as_asked", "not_blank", "final_not_thought")
# A standard deviation of grey levels below this is one flat colour (or nearly): not a drawing.
FLAT_STDDEV = 2.0
ASPECT_TOLERANCE = 0.03  # for sizes the tables do not list: the ratio within 3%


class QaResult(BaseModel):
    check: str
    passed: bool
    detail: str


def open_image(png: bytes | IO[bytes]) -> Image.Image | str:
    """The image decoded in full (read once, for the checks and the thumbnail alike), from its
    bytes or a file of them; or why it does not decode."""
    try:
        with Image.open(io.BytesIO(png) if isinstance(png, bytes) else png) as image:
            image.load()
            return image
    except (UnidentifiedImageError, OSError, ValueError) as error:
        return f"the image does not decode ({error})"


class ImageFacts(BaseModel):
    """What the checks need of a decoded image's pixels (measured once, possibly in a worker
    thread ahead of the record being made)."""

    format: str | None
    width: int
    height: int
    grey_spread: float  # standard deviation of grey levels


def measure_image(decoded: Image.Image | str) -> ImageFacts | str:
    """The facts of `open_image`'s answer, or why the image does not decode."""
    if isinstance(decoded, str):
        return decoded
    return ImageFacts(
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        grey_spread=ImageStat.Stat(decoded.convert("L")).stddev[0],
    )


def inspect_image(
    measured: ImageFacts | str,
    *,
    model: str,
    aspect_ratio: str,
    image_size: str,
    from_thought: bool = False,
) -> list[QaResult]:
    """Every check's verdict on one image (`measure_image`'s answer), in `CHECKS` order."""
    results = [
        QaResult(
            check="final_not_thought",
            passed=not from_thought,
            detail="a draft (thought) image was the final part" if from_thought else "final image",
        )
    ]
    if isinstance(measured, str):
        return [
            QaResult(check=name, passed=False, detail=measured) for name in CHECKS[:3]
        ] + results
    size, fmt, spread = (measured.width, measured.height), measured.format, measured.grey_spread
    results.insert(
        0,
        QaResult(check="png_decodes", passed=fmt == "PNG", detail=f"{fmt} {size[0]}x{size[1]}"),
    )
    results.insert(1, _size_check(size, model, aspect_ratio, image_size))
    results.insert(
        2,
        QaResult(
            check="not_blank",
            passed=spread > FLAT_STDDEV,
            detail=f"grey-level spread {spread:.1f}"
            + ("" if spread > FLAT_STDDEV else ": one flat colour, not a drawing"),
        ),
    )
    return results


def _size_check(size: tuple[int, int], model: str, aspect_ratio: str, image_size: str) -> QaResult:
    width, height = size
    asked = f"{aspect_ratio} at {image_size}"
    expected = expected_size(model, aspect_ratio, image_size)
    if expected is not None:
        return QaResult(
            check="size_as_asked",
            passed=size == expected,
            detail=f"{width}x{height}, asked {asked} ({expected[0]}x{expected[1]})",
        )
    ratio_w, _, ratio_h = aspect_ratio.partition(":")
    wanted = float(ratio_w) / float(ratio_h)
    ok = abs(width / height - wanted) / wanted <= ASPECT_TOLERANCE
    return QaResult(check="size_as_asked", passed=ok, detail=f"{width}x{height}, asked {asked}")


def failed(results: list[QaResult]) -> list[QaResult]:
    return [result for result in results if not result.passed]


def failures_in_words(results: list[QaResult]) -> str | None:
    """The failed checks with their details, on one line; None when every check passed."""
    problems = failed(results)
    return "; ".join(f"{p.check}: {p.detail}" for p in problems) if problems else None
