import base64
import io
import random

from PIL import Image

from chargen_resources.characters.thumbnails import (
    INLINE_MARKDOWN_LIMIT,
    THUMBNAIL_SIDE,
    fitted_size,
    glance_markdown,
    glance_of,
    jpeg_bytes,
    thumbnail_bytes,
    thumbnail_image,
)


def _image(size: tuple[int, int]) -> Image.Image:
    return Image.new("RGB", size, (10, 200, 30))


def test_thumbnail_is_a_small_jpeg() -> None:
    data = jpeg_bytes(thumbnail_image(_image((768, 1376))))
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_SIDE * 2
    assert len(data) < 15_000  # light enough to keep one per take for thousands of characters


def _rgb(pixel: object) -> tuple[int, int, int]:
    assert isinstance(pixel, tuple) and len(pixel) == 3
    return pixel[0], pixel[1], pixel[2]


def test_a_thumbnail_looks_as_pillows_own_thumbnail_of_the_picture_in_every_mode() -> None:
    for mode in ("RGB", "RGBA", "L", "P", "1"):
        picture = Image.new("RGB", (1024, 1536), (200, 30, 30)).convert(mode)
        expected = picture.convert("RGB")
        expected.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE * 2))
        with Image.open(io.BytesIO(jpeg_bytes(thumbnail_image(picture)))) as thumb:
            assert thumb.mode == "RGB" and thumb.size == expected.size == (160, 240), mode
            seen, wanted = _rgb(thumb.getpixel((80, 120))), _rgb(expected.getpixel((80, 120)))
            assert all(abs(a - b) <= 12 for a, b in zip(seen, wanted, strict=True)), (
                mode,
                seen,
                wanted,
            )


def test_fitted_size_fits_the_box_keeps_the_aspect_and_never_enlarges() -> None:
    assert fitted_size((1024, 1536), (160, 320)) == (160, 240)
    assert fitted_size((768, 1376), (160, 320)) == (160, 287)
    assert fitted_size((100, 50), (160, 320)) == (100, 50)
    assert fitted_size((5000, 1), (160, 320)) == (160, 1)


def test_an_older_records_inline_thumbnail_can_be_read_back() -> None:
    jpeg = jpeg_bytes(thumbnail_image(_image((300, 600))))
    markdown = f"![ash](data:image/jpeg;base64,{base64.b64encode(jpeg).decode()})"
    assert thumbnail_bytes(markdown) == jpeg
    assert thumbnail_bytes(None) is None and thumbnail_bytes("no picture") is None


def _busy_image(size: tuple[int, int]) -> Image.Image:
    """Noise: the hardest picture to make small."""
    generator = random.Random(7)
    return Image.frombytes(
        "RGB", size, bytes(generator.randrange(256) for _ in range(3 * size[0] * size[1]))
    )


def test_the_glance_fits_under_dagsters_inline_limit_even_for_a_busy_picture() -> None:
    for image in (_image((768, 1376)), _busy_image((384, 688))):
        small = thumbnail_image(image)
        # From the thumbnail in hand (a kept image) or its stored JPEG (an older record).
        for glance in (glance_of(small, "ash"), glance_markdown(jpeg_bytes(small), "ash")):
            assert glance is not None and len(glance) < INLINE_MARKDOWN_LIMIT
            assert glance.startswith("![ash](data:image/webp;base64,")
            data = base64.b64decode(glance.split(",", 1)[1].rstrip(")"))
            with Image.open(io.BytesIO(data)) as shown:
                assert shown.format == "WEBP" and 20 <= shown.height <= 192
    assert glance_markdown(None, "ash") is None
    assert glance_markdown(b"not a picture", "ash") is None
