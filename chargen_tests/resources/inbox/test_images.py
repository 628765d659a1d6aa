from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
import zlib

import pytest
from PIL import Image, ImageCms

from chargen_resources.inbox.images import (
    SourceImageError,
    normalise_image,
)


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def two_tone(size: tuple[int, int] = (80, 40), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation is visible after a rotation."""
    image = Image.new(mode, size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    return image


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` RGB pixels (none are present)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def error_for(data: bytes, name: str = "sketch.png") -> SourceImageError:
    with pytest.raises(SourceImageError) as caught:
        normalise_image(data, name=name, character="ash-witch")
    return caught.value


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_supported_formats_become_png(fmt: str) -> None:
    result = normalise_image(encode(two_tone(), fmt), name=f"a.{fmt.lower()}")
    assert result.source_format == fmt
    assert (result.width, result.height) == (80, 40)
    decoded = Image.open(io.BytesIO(result.png))
    assert decoded.format == "PNG" and decoded.mode == "RGB"
    assert result.sha256 == hashlib.sha256(result.png).hexdigest()
    assert result.source_name == f"a.{fmt.lower()}"


def test_output_is_deterministic() -> None:
    data = encode(two_tone((300, 200)), "JPEG", quality=80)
    first = normalise_image(data, name="a.jpg", max_side=128)
    second = normalise_image(data, name="a.jpg", max_side=128)
    assert first.png == second.png and first.sha256 == second.sha256


def test_metadata_does_not_change_the_output() -> None:
    image = two_tone()
    plain = normalise_image(encode(image, "PNG"), name="a.png")
    exif = Image.Exif()
    exif[0x010E] = "a description that must not leak"  # ImageDescription
    tagged = normalise_image(encode(image, "PNG", exif=exif), name="a.png")
    assert plain.png == tagged.png
    assert b"leak" not in tagged.png


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    data = encode(two_tone((80, 40)), "JPEG", exif=exif, quality=95)
    result = normalise_image(data, name="phone.jpg")
    assert (result.width, result.height) == (40, 80)
    upright = Image.open(io.BytesIO(result.png)).convert("RGB")
    top_red, _, _ = upright.getpixel((20, 10))  # type: ignore[misc]
    bottom_red, _, bottom_blue = upright.getpixel((20, 70))  # type: ignore[misc]
    assert top_red > 200  # the left (red) side is now on top
    assert bottom_blue > 200 and bottom_red < 60


def test_large_images_are_downscaled_keeping_aspect() -> None:
    result = normalise_image(encode(two_tone((1000, 500)), "PNG"), name="a.png", max_side=256)
    assert (result.width, result.height) == (256, 128)


def test_small_images_are_not_upscaled() -> None:
    result = normalise_image(encode(two_tone((48, 32)), "PNG"), name="a.png", max_side=256)
    assert (result.width, result.height) == (48, 32)


def test_transparency_is_kept() -> None:
    image = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    image.paste((0, 255, 0, 255), (10, 10, 30, 30))
    result = normalise_image(encode(image, "WEBP", lossless=True), name="a.webp")
    decoded = Image.open(io.BytesIO(result.png))
    assert decoded.mode == "RGBA"
    assert decoded.getpixel((0, 0))[3] == 0  # type: ignore[index]


def test_opaque_alpha_is_dropped() -> None:
    result = normalise_image(encode(Image.new("RGBA", (32, 32), "red"), "PNG"), name="a.png")
    assert Image.open(io.BytesIO(result.png)).mode == "RGB"


def test_palette_and_greyscale_become_rgb() -> None:
    palette = Image.new("P", (32, 32), 3)
    grey = Image.new("L", (32, 32), 128)
    for image in (palette, grey):
        result = normalise_image(encode(image, "PNG"), name="a.png")
        assert Image.open(io.BytesIO(result.png)).mode == "RGB"


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    result = normalise_image(encode(Image.new("I;16", (32, 32), 30000), "PNG"), name="a.png")
    red, green, blue = Image.open(io.BytesIO(result.png)).getpixel((0, 0))  # type: ignore[misc]
    assert red == green == blue == round(30000 / 257)


def test_cmyk_jpeg_becomes_rgb() -> None:
    data = encode(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG")
    result = normalise_image(data, name="print.jpg")
    red, green, blue = Image.open(io.BytesIO(result.png)).getpixel((0, 0))  # type: ignore[misc]
    assert red > 200 and green < 60 and blue < 60


def test_embedded_colour_profile_is_converted_to_srgb() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.new("RGB", (32, 32), (200, 40, 40))
    with_srgb = normalise_image(encode(image, "PNG", icc_profile=srgb), name="a.png")
    decoded = Image.open(io.BytesIO(with_srgb.png))
    assert decoded.getpixel((0, 0)) == (200, 40, 40)
    assert "icc_profile" not in decoded.info  # converted to sRGB, so no profile is needed
    # A profile that cannot be applied to RGB is ignored instead of failing the image.
    odd = normalise_image(encode(image, "PNG", icc_profile=profile), name="a.png")
    assert (odd.width, odd.height) == (32, 32)


# --- bad input -----------------------------------------------------------------------------------


def test_zero_byte_file() -> None:
    error = error_for(b"")
    assert error.reason == "the file is empty (0 bytes)"
    assert "ash-witch" in str(error) and "sketch.png" in str(error)
    assert "again" in error.hint


@pytest.mark.parametrize(
    "data", [b"this is my notes file", b"%PDF-1.4\n...", b"\x89PNG\r\n\x1a\n", b"\x00" * 64]
)
def test_not_an_image(data: bytes) -> None:
    error = error_for(data, "notes.png")
    assert "not an image" in error.reason
    assert "PNG, JPEG or WEBP" in error.hint


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_images(fmt: str) -> None:
    # Noise does not compress, so half the file really is half the pixels.
    noise = Image.frombytes("RGB", (128, 128), bytes(range(256)) * 192)
    data = encode(noise, fmt)
    error = error_for(data[: len(data) // 2], f"cut.{fmt.lower()}")
    assert "damaged or cut short" in error.reason or "not an image" in error.reason


def test_corrupt_png_checksum() -> None:
    data = bytearray(encode(two_tone(), "PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # flip a byte inside the compressed pixels
    error = error_for(bytes(data))
    assert "damaged" in error.reason


def test_header_claiming_enormous_dimensions_is_rejected_without_decoding() -> None:
    data = png_claiming(100_000, 100_000)
    assert len(data) < 100
    tracemalloc.start()
    try:
        error = error_for(data, "bomb.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # decoding would need 30 GB
    assert "decompression bomb" in error.reason
    assert "an enormous picture of 10000.0 megapixels" in error.reason  # its size, in words
    assert "megapixels" in error.hint


def test_pillows_bomb_warning_becomes_our_error() -> None:
    # 100 MP: above Pillow's warning threshold (89 MP), below its hard error (179 MP).
    error = error_for(png_claiming(10_000, 10_000), "warned.png")
    assert "decompression bomb" in error.reason and "of 100.0 megapixels" in error.reason


def test_sketches_normalised_in_parallel_leave_the_warnings_filters_as_they_were() -> None:
    import warnings

    from chargen_resources.streaming.ahead import worked_ahead

    before = list(warnings.filters)
    data = encode(two_tone((300, 300)), "PNG")
    for _ in range(20):
        done = list(worked_ahead(lambda _: normalise_image(data, name="a.png"), range(16)))
        assert len(done) == 16
    assert warnings.filters == before  # no thread's "error" filter left behind
    # and the bomb warning is still an error for each of two parallel sketches
    bombs = worked_ahead(lambda _: error_for(png_claiming(10_000, 10_000), "w.png"), range(8))
    assert all("decompression bomb" in error.reason for error in bombs)


def test_dimensions_over_our_limit_but_under_pillows_are_rejected_from_the_header() -> None:
    error = error_for(png_claiming(8000, 6000), "huge.png")
    assert "8000x6000" in error.reason and "48.0 megapixels" in error.reason
    assert "over the limit of 40 megapixels" in error.reason


@pytest.mark.parametrize("size", [(1, 1), (31, 400), (400, 31)])
def test_an_image_too_small_to_show_a_figure_is_rejected_from_the_header(
    size: tuple[int, int],
) -> None:
    error = error_for(png_claiming(*size), "thumb.png")
    assert f"{size[0]}x{size[1]} pixels, too small" in error.reason
    assert "at least 32 pixels" in error.reason and "full-size sketch" in error.hint


def test_pixel_limit_is_configurable() -> None:
    data = encode(two_tone((100, 100)), "PNG")
    with pytest.raises(SourceImageError, match="over the limit"):
        normalise_image(data, name="a.png", max_pixels=5_000)


@pytest.mark.parametrize(
    ("fmt", "params"),
    [("PNG", {}), ("WEBP", {"lossless": True})],
)
def test_animated_images_are_rejected(fmt: str, params: dict[str, object]) -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue", "green")]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], **params)
    error = error_for(data, f"walk.{fmt.lower()}")
    assert "animated (3 frames)" in error.reason
    assert "still" in error.hint


def test_animated_gif_is_rejected() -> None:
    frames = [Image.new("RGB", (32, 32), colour) for colour in ("red", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    error = error_for(data, "walk.gif")
    assert "GIF images are not supported" in error.reason


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "ICO", "TGA"])
def test_unsupported_formats_name_the_supported_ones(fmt: str) -> None:
    error = error_for(encode(two_tone((32, 32)), fmt), "sketch.png")  # misleading extension
    assert f"{fmt} images are not supported" in error.reason
    assert "PNG, JPEG or WEBP" in error.hint


def test_an_error_names_the_character_when_it_is_known() -> None:
    with pytest.raises(SourceImageError) as caught:
        normalise_image(b"", name="a.png")
    assert str(caught.value).startswith("image 'a.png':")
    with pytest.raises(SourceImageError) as named:
        normalise_image(b"", name="a.png", character="ash-witch")
    assert str(named.value).startswith("character 'ash-witch', image 'a.png':")
