"""Spec vectors for DimensionProbe: real encoder output (Pillow), odd headers, byte-by-byte input."""

from __future__ import annotations

import io
import os
import struct
from typing import Any

import pytest
from PIL import Image

from chargen_resources.streaming import DimensionProbe, Dimensions

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


CASES = {
    "png": (encode("PNG"), "png"),
    "jpeg-baseline": (encode("JPEG"), "jpeg"),
    "jpeg-progressive-big-exif": (encode("JPEG", progressive=True, exif=big_exif()), "jpeg"),
    "jpeg-with-icc": (encode("JPEG", icc_profile=b"\x00" * 70_000), "jpeg"),
    "webp-lossy-vp8": (encode("WEBP", quality=70), "webp"),
    "webp-lossless-vp8l": (encode("WEBP", lossless=True), "webp"),
    "webp-extended-vp8x": (encode("WEBP", exif=big_exif()), "webp"),
    "gif": (encode("GIF"), "gif"),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("chunk", [1, 3, 7, 4096, 1 << 20])
def test_dimensions_of_real_files_at_any_chunk_size(name: str, chunk: int) -> None:
    data, image_format = CASES[name]
    dimensions, passed = probe(data, chunk)
    assert passed == data
    assert dimensions == Dimensions(SIZE[0], SIZE[1], image_format)


def test_webp_chunks_are_the_ones_named() -> None:
    assert CASES["webp-lossy-vp8"][0][12:16] == b"VP8 "
    assert CASES["webp-lossless-vp8l"][0][12:16] == b"VP8L"
    assert CASES["webp-extended-vp8x"][0][12:16] == b"VP8X"


@pytest.mark.parametrize("name", ["png", "jpeg-baseline", "webp-lossy-vp8", "webp-lossless-vp8l"])
def test_every_truncated_header_is_harmless(name: str) -> None:
    data = CASES[name][0]
    for cut in range(0, 64):
        dimensions, passed = probe(data[:cut], 1)
        assert passed == data[:cut]
        assert dimensions is None or dimensions == Dimensions(*SIZE, CASES[name][1]), cut


def test_large_dimensions_and_not_an_image() -> None:
    header = (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 16384, 9000)
    )
    assert probe(header + bytes(20), 5)[0] == Dimensions(16384, 9000, "png")
    assert probe(os.urandom(300_000), 3)[0] is None
    assert probe(b"", 1)[0] is None


def test_header_beyond_the_probe_window_gives_none_but_passes_everything() -> None:
    data = CASES["jpeg-progressive-big-exif"][0]
    dimensions, passed = probe(data, 1000, max_probe_bytes=4096)
    assert passed == data
    assert dimensions is None


def test_probe_keeps_no_more_than_its_window() -> None:
    found = DimensionProbe(max_probe_bytes=1024)
    stream = found.transform(iter([os.urandom(4096)] * 50))
    for _ in stream:
        assert len(found._head) <= 1024  # the bound is the point of this test
