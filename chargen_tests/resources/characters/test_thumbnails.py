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


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_thumbnail_is_a_small_jpeg() -> None:
    data = thumbnail_jpeg(_png((768, 1376)))
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_SIDE * 2
    assert len(data) < 15_000  # light enough to keep one per take for thousands of characters


def test_an_older_records_inline_thumbnail_can_be_read_back() -> None:
    jpeg = thumbnail_jpeg(_png((300, 600)))
    markdown = f"![ash](data:image/jpeg;base64,{base64.b64encode(jpeg).decode()})"
    assert thumbnail_bytes(markdown) == jpeg
    assert thumbnail_bytes(None) is None and thumbnail_bytes("no picture") is None


def _busy_png(size: tuple[int, int]) -> bytes:
    """Noise: the hardest picture to make small."""
    generator = random.Random(7)
    image = Image.frombytes(
        "RGB", size, bytes(generator.randrange(256) for _ in range(3 * size[0] * size[1]))
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_glance_fits_under_dagsters_inline_limit_even_for_a_busy_picture() -> None:
    for png in (_png((768, 1376)), _busy_png((384, 688))):
        glance = glance_markdown(thumbnail_jpeg(png), "ash")
        assert glance is not None and len(glance) < INLINE_MARKDOWN_LIMIT
        data = base64.b64decode(glance.split(",", 1)[1].rstrip(")"))
        with Image.open(io.BytesIO(data)) as small:
            assert small.format == "WEBP" and 20 <= small.height <= 192
    assert glance_markdown(None, "ash") is None
    assert glance_markdown(b"not a picture", "ash") is None
