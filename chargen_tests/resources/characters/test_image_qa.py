"""Each QA check failing on a crafted image, and passing on a good one."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from chargen_resources.characters.image_qa import CHECKS, inspect_image, measure_image, open_image

MODEL = "gemini-3-pro-image-preview"


def _png(size: tuple[int, int], drawn: bool = True, fmt: str = "PNG") -> bytes:
    image = Image.new("RGB", size, (230, 230, 230))
    if drawn:
        ImageDraw.Draw(image).rectangle((100, 200, 500, 1100), fill=(150, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _verdicts(png: bytes, **asked: object) -> dict[str, bool]:
    settings = {"model": MODEL, "aspect_ratio": "9:16", "image_size": "1K", **asked}
    results = inspect_image(measure_image(open_image(png)), **settings)  # type: ignore[arg-type]
    assert [r.check for r in results] == list(CHECKS)
    return {r.check: r.passed for r in results}


def test_a_good_image_passes_every_check() -> None:
    assert set(_verdicts(_png((768, 1376))).values()) == {True}


def test_each_check_fails_on_its_own_crafted_image() -> None:
    assert not _verdicts(b"\x89PNG\r\n\x1a\n truncated")["png_decodes"]
    assert not _verdicts(_png((768, 1376), fmt="JPEG"))["png_decodes"]
    assert not _verdicts(_png((1024, 1024)))["size_as_asked"]
    assert _verdicts(_png((1536, 2752)), image_size="2K")["size_as_asked"]
    assert not _verdicts(_png((768, 1376), drawn=False))["not_blank"]
    assert not _verdicts(_png((768, 1376)), from_thought=True)["final_not_thought"]


def test_sizes_the_tables_lack_are_judged_by_their_ratio() -> None:
    assert _verdicts(_png((700, 700)), aspect_ratio="1:1", image_size="8K")["size_as_asked"]
    assert not _verdicts(_png((700, 900)), aspect_ratio="1:1", image_size="8K")["size_as_asked"]


def test_failures_are_told_on_one_line_and_a_pass_is_none() -> None:
    from chargen_resources.characters.image_qa import QaResult, failures_in_words

    results = [
        QaResult(check="png_decodes", passed=True, detail="ok"),
        QaResult(check="not_blank", passed=False, detail="one flat colour"),
        QaResult(check="size_as_asked", passed=False, detail="512x512, asked 768x1344"),
    ]
    told = failures_in_words(results)
    assert told == "not_blank: one flat colour; size_as_asked: 512x512, asked 768x1344"
    assert failures_in_words(results[:1]) is None
