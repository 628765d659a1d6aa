import io
import random
from typing import IO, cast

import pytest
from PIL import Image

from chargen_resources.streaming.chunk_file import ChunkFile


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("chunk_size", [1, 7, 1000, 70_000, 1_000_000])
def test_reads_give_the_stream_back_whole_across_the_head_and_any_chunking(
    chunk_size: int,
) -> None:
    data = random.Random(3).randbytes(300_000)
    stream = ChunkFile(_chunks(data, chunk_size), head=1000)
    pieces: list[bytes] = []
    while piece := stream.read(random.Random(len(pieces)).randrange(1, 5000)):
        pieces.append(piece)
    assert b"".join(pieces) == data
    assert stream.read(10) == b""


def test_seeks_back_into_the_head_and_forward_anywhere() -> None:
    data = bytes(range(256)) * 1000
    stream = ChunkFile(_chunks(data, 4096), head=1000)
    assert stream.read(16) == data[:16]
    assert stream.seek(0) == 0 and stream.read(900) == data[:900]
    assert stream.seek(100_000) == 100_000 and stream.read(10) == data[100_000:100_010]
    assert stream.seek(5, io.SEEK_CUR) == 100_015 and stream.read(3) == data[100_015:100_018]
    assert stream.seek(10) == 10 and stream.read(4) == data[10:14]  # the head is kept
    stream.seek(200_000)
    assert stream.read(5) == data[200_000:200_005]
    with pytest.raises(io.UnsupportedOperation):
        stream.seek(150_000)  # consumed, past the head
    with pytest.raises(io.UnsupportedOperation):
        stream.seek(0, io.SEEK_END)


def test_memory_stays_about_a_chunk_whatever_the_stream() -> None:
    chunk = b"x" * 65536
    stream = ChunkFile((chunk for _ in range(500)), head=1000)  # 32 MB
    while stream.read(10_000):
        assert len(stream._rest) <= 2 * len(chunk)


def test_pillow_decodes_a_png_from_it_as_from_the_bytes() -> None:
    image = Image.frombytes("RGB", (300, 200), random.Random(5).randbytes(300 * 200 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    png = buffer.getvalue()
    with Image.open(cast(IO[bytes], ChunkFile(_chunks(png, 8192)))) as streamed:
        streamed.load()
        assert streamed.format == "PNG" and streamed.tobytes() == image.tobytes()
    with (
        pytest.raises(OSError),
        Image.open(cast(IO[bytes], ChunkFile(_chunks(png[: len(png) // 2], 8192)))) as cut,
    ):
        cut.load()
