"""DimensionProbe: passthrough, header parsing for PNG/JPEG/WEBP, Pillow fallback, bounded buffer."""

from __future__ import annotations

import io
import os

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
