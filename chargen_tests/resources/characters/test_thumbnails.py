import base64
import io
import random

from PIL import Image

from chargen_resources.characters.thumbnails import (
    INLINE_MARKDOWN_LIMIT,
    THUMBNAIL_SIDE,
    glance_markdown,
    thumbnail_bytes,
    thumbnail_jpeg,
)


def _image(size: tuple[int, int]) -> Image.Image:
    return Image.new("RGB", size, (10, 200, 30))


def test_thumbnail_is_a_small_jpeg() -> None:
    data = thumbnail_jpeg(_image((768, 1376)))
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_SIDE * 2
    assert len(data) < 15_000  # light enough to keep one per take for thousands of characters


def test_an_older_records_inline_thumbnail_can_be_read_back() -> None:
    jpeg = thumbnail_jpeg(_image((300, 600)))
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
        glance = glance_markdown(thumbnail_jpeg(image), "ash")
        assert glance is not None and len(glance) < INLINE_MARKDOWN_LIMIT
        data = base64.b64decode(glance.split(",", 1)[1].rstrip(")"))
        with Image.open(io.BytesIO(data)) as small:
            assert small.format == "WEBP" and 20 <= small.height <= 192
    assert glance_markdown(None, "ash") is None
    assert glance_markdown(b"not a picture", "ash") is None
