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
