import base64
import io

from PIL import Image

from chargen_resources.characters.thumbnails import THUMBNAIL_SIDE, thumbnail_markdown


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_thumbnail_is_a_small_inline_jpeg() -> None:
    markdown = thumbnail_markdown(_png((768, 1376)), "ash")
    assert markdown.startswith("![ash](data:image/jpeg;base64,")
    data = base64.b64decode(markdown.split(",", 1)[1].rstrip(")"))
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.format == "JPEG" and max(thumb.size) <= THUMBNAIL_SIDE * 2
    assert len(markdown) < 20_000  # metadata stays light for thousands of characters


def test_the_thumbnail_inside_the_markdown_can_be_read_back() -> None:
    import io

    from PIL import Image

    from chargen_resources.characters.thumbnails import thumbnail_bytes, thumbnail_markdown

    buffer = io.BytesIO()
    Image.new("RGB", (300, 600), (10, 200, 10)).save(buffer, format="PNG")
    small = thumbnail_bytes(thumbnail_markdown(buffer.getvalue(), "ash"))
    assert small is not None
    with Image.open(io.BytesIO(small)) as opened:
        assert opened.format == "JPEG" and max(opened.size) <= 320
    assert thumbnail_bytes(None) is None and thumbnail_bytes("no picture") is None


def _busy_png(size: tuple[int, int]) -> bytes:
    """Noise: the hardest picture to make small."""
    import random

    generator = random.Random(7)
    image = Image.frombytes(
        "RGB", size, bytes(generator.randrange(256) for _ in range(3 * size[0] * size[1]))
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_glance_fits_under_dagsters_inline_limit_even_for_a_busy_picture() -> None:
    from chargen_resources.characters.thumbnails import INLINE_MARKDOWN_LIMIT, glance_markdown

    for png in (_png((768, 1376)), _busy_png((384, 688))):
        glance = glance_markdown(thumbnail_markdown(png, "ash"), "ash")
        assert glance is not None and len(glance) < INLINE_MARKDOWN_LIMIT
        data = base64.b64decode(glance.split(",", 1)[1].rstrip(")"))
        with Image.open(io.BytesIO(data)) as small:
            assert small.format == "WEBP" and 20 <= small.height <= 192
    assert glance_markdown(None, "ash") is None
