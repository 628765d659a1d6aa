"""DimensionProbe: passthrough, header parsing for PNG/JPEG/WEBP, Pillow fallback, bounded buffer."""

from __future__ import annotations

import io
import os
import struct
from typing import Any

import pytest
from PIL import Image

from chargen_resources.streaming import DimensionProbe, Dimensions


def encoded(fmt: str, size: tuple[int, int], **options: object) -> bytes:
    buffer = io.BytesIO()
    mode = "RGBA" if fmt == "WEBP" and options.get("lossless") else "RGB"
    Image.frombytes(mode, size, os.urandom(size[0] * size[1] * len(mode))).save(
        buffer, fmt, **options
    )
    return buffer.getvalue()


CASES = [
    ("png", encoded("PNG", (300, 200)), Dimensions(300, 200, "png")),
    ("jpeg", encoded("JPEG", (123, 45)), Dimensions(123, 45, "jpeg")),
    ("progressive jpeg", encoded("JPEG", (64, 80), progressive=True), Dimensions(64, 80, "jpeg")),
    (
        "jpeg with exif",
        encoded("JPEG", (50, 60), exif=b"Exif\0\0" + b"x" * 5000),
        Dimensions(50, 60, "jpeg"),
    ),
    ("lossy webp", encoded("WEBP", (99, 77), quality=50), Dimensions(99, 77, "webp")),
    ("lossless webp", encoded("WEBP", (33, 17), lossless=True), Dimensions(33, 17, "webp")),
    ("gif through pillow", encoded("GIF", (40, 30)), Dimensions(40, 30, "gif")),
]


@pytest.mark.parametrize(("name", "data", "expected"), CASES, ids=[case[0] for case in CASES])
@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_dimensions_found_and_bytes_unchanged(
    name: str, data: bytes, expected: Dimensions, chunk: int
) -> None:
    probe = DimensionProbe()
    chunks = [data[index : index + chunk] for index in range(0, len(data), chunk)]
    assert b"".join(probe.transform(chunks)) == data
    assert probe.dimensions == expected


def test_found_early_before_the_stream_ends() -> None:
    data = encoded("PNG", (500, 400))
    probe = DimensionProbe()
    stream = probe.transform([data[:100], data[100:]])
    next(stream)
    assert probe.dimensions == Dimensions(500, 400, "png")


def test_not_an_image_gives_none_and_keeps_at_most_the_probe_window() -> None:
    probe = DimensionProbe(max_probe_bytes=1000)
    chunks = [os.urandom(300) for _ in range(20)]
    assert b"".join(probe.transform(chunks)) == b"".join(chunks)
    assert probe.dimensions is None and probe.done


def test_empty_stream() -> None:
    probe = DimensionProbe()
    assert list(probe.transform([])) == []
    assert probe.dimensions is None


# ---- vectors

SIZE = (37, 23)  # odd sizes catch width/height swaps and off-by-one (VP8L/VP8X store size - 1)


def encode(image_format: str, size: tuple[int, int] = SIZE, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def big_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # ImageDescription: an APP1 segment of about 60 KB
    return exif.tobytes()


def probe(data: bytes, size: int, **options: Any) -> tuple[Dimensions | None, bytes]:
    found = DimensionProbe(**options)
    passed = b"".join(found.transform(data[i : i + size] for i in range(0, len(data), size)))
    assert found.done
    return found.dimensions, passed


VECTOR_CASES = {
    "png": (encode("PNG"), "png"),
    "jpeg-baseline": (encode("JPEG"), "jpeg"),
    "jpeg-progressive-big-exif": (encode("JPEG", progressive=True, exif=big_exif()), "jpeg"),
    "jpeg-with-icc": (encode("JPEG", icc_profile=b"\x00" * 70_000), "jpeg"),
    "webp-lossy-vp8": (encode("WEBP", quality=70), "webp"),
    "webp-lossless-vp8l": (encode("WEBP", lossless=True), "webp"),
    "webp-extended-vp8x": (encode("WEBP", exif=big_exif()), "webp"),
    "gif": (encode("GIF"), "gif"),
}


@pytest.mark.parametrize("name", list(VECTOR_CASES))
@pytest.mark.parametrize("chunk", [1, 3, 7, 4096, 1 << 20])
def test_dimensions_of_real_files_at_any_chunk_size(name: str, chunk: int) -> None:
    data, image_format = VECTOR_CASES[name]
    dimensions, passed = probe(data, chunk)
    assert passed == data
    assert dimensions == Dimensions(SIZE[0], SIZE[1], image_format)


def test_webp_chunks_are_the_ones_named() -> None:
    assert VECTOR_CASES["webp-lossy-vp8"][0][12:16] == b"VP8 "
    assert VECTOR_CASES["webp-lossless-vp8l"][0][12:16] == b"VP8L"
    assert VECTOR_CASES["webp-extended-vp8x"][0][12:16] == b"VP8X"


@pytest.mark.parametrize("name", ["png", "jpeg-baseline", "webp-lossy-vp8", "webp-lossless-vp8l"])
def test_every_truncated_header_is_harmless(name: str) -> None:
    data = VECTOR_CASES[name][0]
    for cut in range(0, 64):
        dimensions, passed = probe(data[:cut], 1)
        assert passed == data[:cut]
        assert dimensions is None or dimensions == Dimensions(*SIZE, VECTOR_CASES[name][1]), cut


def test_large_dimensions_and_not_an_image() -> None:
    header = (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 16384, 9000)
    )
    assert probe(header + bytes(20), 5)[0] == Dimensions(16384, 9000, "png")
    assert probe(os.urandom(300_000), 3)[0] is None
    assert probe(b"", 1)[0] is None


def test_header_beyond_the_probe_window_gives_none_but_passes_everything() -> None:
    data = VECTOR_CASES["jpeg-progressive-big-exif"][0]
    dimensions, passed = probe(data, 1000, max_probe_bytes=4096)
    assert passed == data
    assert dimensions is None


def test_probe_keeps_no_more_than_its_window() -> None:
    found = DimensionProbe(max_probe_bytes=1024)
    stream = found.transform(iter([os.urandom(4096)] * 50))
    for _ in stream:
        assert len(found._head) <= 1024  # the bound is the point of this test
