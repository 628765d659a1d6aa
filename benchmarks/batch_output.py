"""Benchmark: reading a Gemini batch output file, naive path vs the streaming engine.

    python -m benchmarks.batch_output --images 20 --size 2K

Generates a batch output JSONL of N image lines (valid PNGs whose pixel rows are partly random,
so incompressible, at realistic sizes), then measures three paths, each in its own subprocess
so that peak RSS (``ru_maxrss``) belongs to that path alone:

* ``limit``: read the file in 8 MiB chunks and ``binascii.a2b_base64`` the base64 spans (whose
  offsets the generator recorded): the C-speed floor for "read and decode".
* ``naive``: whole file in memory, split lines, ``json.loads``, ``base64.b64decode``.
* ``streaming``: ``read_batch_output`` -> ``upload_image_chunks`` (base64 decode, dimension probe)
  into a sink that counts and discards bytes.

Prints a markdown table (MB/s over the file size, share of the limit, peak RSS) and checks that
the three paths decoded the same number of bytes.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chargen_resources.streaming import ImageWriter, StoredObject

SIZES = {  # pixels per side, share of random rows (sets the PNG size like a real image)
    "1K": (1024, 0.58),  # ~1.8 MB PNG
    "2K": (2048, 0.58),  # ~7.3 MB PNG
    "4K": (4096, 0.46),  # ~23 MB PNG
}
READ_CHUNK = 8 * 1024 * 1024
DECODE_SLICE = 256 * 1024
STREAM_READ_CHUNK = 1024 * 1024


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def make_png(side: int, random_share: float) -> bytes:
    """A valid RGB PNG: ``random_share`` of its rows are random pixels, the rest black."""
    row_bytes = side * 3
    random_rows = int(side * random_share)
    compressor = zlib.compressobj(level=1)
    parts: list[bytes] = []
    noise = os.urandom(random_rows * row_bytes)
    for row in range(side):
        if row < random_rows:
            parts.append(
                compressor.compress(b"\0" + noise[row * row_bytes : (row + 1) * row_bytes])
            )
        else:
            parts.append(compressor.compress(bytes(row_bytes + 1)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def generate(path: Path, images: int, size: str) -> list[tuple[int, int]]:
    """Write the batch output file; return the byte spans of the base64 strings."""
    side, share = SIZES[size]
    spans: list[tuple[int, int]] = []
    offset = 0
    with path.open("wb") as handle:
        for index in range(images):
            encoded = base64.b64encode(make_png(side, share))
            before = (
                b'{"response": {"candidates": [{"content": {"role": "model", "parts": ['
                b'{"text": "Here is the character."}, {"inlineData": {"mimeType": "image/png", '
                b'"data": "'
            )
            after = (
                '"}}]}, "finishReason": "STOP", "index": 0}], "usageMetadata": '
                '{"promptTokenCount": 120, "candidatesTokenCount": 1290, "totalTokenCount": 1410},'
                f' "modelVersion": "gemini-3-pro-image-preview"}}, "key": "character-{index:05d}"}}\n'
            ).encode()
            spans.append((offset + len(before), offset + len(before) + len(encoded)))
            for piece in (before, encoded, after):
                handle.write(piece)
                offset += len(piece)
    return spans


# -- the three measured paths (each runs in a fresh subprocess) ------------------------------


def run_limit(path: Path, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """Read 8 MiB chunks into one reused buffer; decode the known base64 spans from memoryviews,
    256 KiB at a time (cache-sized pieces are the fastest way to drive ``a2b_base64``)."""
    decoded = 0
    carry = b""
    span_index = 0
    offset = 0
    buffer = bytearray(READ_CHUNK)  # reused: no allocation per read
    with path.open("rb", buffering=0) as handle:
        while length := handle.readinto(buffer):
            view = memoryview(buffer)[:length]
            end = offset + length
            while span_index < len(spans) and spans[span_index][0] < end:
                start, stop = spans[span_index]
                piece = view[max(start, offset) - offset : min(stop, end) - offset]
                if carry:
                    joined = carry + piece[: 4 - len(carry)]
                    decoded += len(binascii.a2b_base64(joined))
                    piece = piece[4 - len(carry) :]
                    carry = b""
                usable = len(piece) - len(piece) % 4 if stop > end else len(piece)
                for at in range(0, usable, DECODE_SLICE):
                    decoded += len(binascii.a2b_base64(piece[at : min(at + DECODE_SLICE, usable)]))
                carry = bytes(piece[usable:])
                if stop > end:
                    break
                span_index += 1
            offset = end
    return decoded, len(spans)


def run_naive(path: Path) -> tuple[int, int]:
    decoded = 0
    images = 0
    content = path.read_bytes()
    for line in content.splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        for part in record["response"]["candidates"][0]["content"]["parts"]:
            if "inlineData" in part:
                decoded += len(base64.b64decode(part["inlineData"]["data"]))
                images += 1
    return decoded, images


class _CountingSink:
    """Receives decoded bytes and throws them away: measures the engine, not a disk."""

    def __init__(self) -> None:
        self.total = 0

    def open(self, key: str, content_type: str) -> ImageWriter:
        return _CountingWriter(self, key)


class _CountingWriter:
    def __init__(self, sink: _CountingSink, key: str) -> None:
        self.sink, self.key, self.length = sink, key, 0

    def write(self, data: bytes) -> None:
        self.length += len(data)

    def commit(self) -> StoredObject:
        from chargen_resources.streaming import StoredObject

        self.sink.total += self.length
        return StoredObject(url="null:", key=self.key, bucket=None, content_length=self.length)

    def abort(self) -> None:
        pass


def _read_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(STREAM_READ_CHUNK):
            yield chunk


def run_streaming(path: Path) -> tuple[int, int]:
    from chargen_resources.streaming import ImageBlock, read_batch_output, upload_image_chunks

    sink = _CountingSink()
    images = 0
    events = read_batch_output(_read_chunks(path))
    uploaded = upload_image_chunks(events, sink, lambda context: f"line-{context.line_index}")
    for event in uploaded:
        if isinstance(event, ImageBlock):
            images += 1
            if event.width is None:
                raise SystemExit("the dimension probe found no size: the benchmark is broken")
    return sink.total, images


def _child(arguments: argparse.Namespace) -> None:
    path = Path(arguments.file)
    if arguments.run_path == "streaming":
        import chargen_resources.streaming  # noqa: F401  (a one-off import is not throughput)
    started = time.perf_counter()
    if arguments.run_path == "limit":
        spans = [(start, stop) for start, stop in json.loads(Path(arguments.spans).read_text())]
        decoded, images = run_limit(path, spans)
    elif arguments.run_path == "naive":
        decoded, images = run_naive(path)
    else:
        decoded, images = run_streaming(path)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_kib / 1024,
                "decoded": decoded,
                "images": images,
            }
        )
    )


def _measure(path_name: str, file: Path, spans_file: Path) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.batch_output",
        "--run-path",
        path_name,
        "--file",
        str(file),
        "--spans",
        str(spans_file),
    ]
    finished = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(finished.stdout)
    return result


def _best_of(repeat: int, path_name: str, file: Path, spans_file: Path) -> dict[str, float]:
    """Fastest of ``repeat`` runs (the machine is shared), with the highest peak RSS seen."""
    runs = [_measure(path_name, file, spans_file) for _ in range(repeat)]
    best = min(runs, key=lambda run: run["seconds"])
    return {**best, "peak_rss_mb": max(run["peak_rss_mb"] for run in runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--size", choices=sorted(SIZES), default="2K")
    parser.add_argument("--repeat", type=int, default=3, help="runs per path; the fastest counts")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the file (temp)")
    parser.add_argument(
        "--skip-naive", action="store_true", help="the naive path needs RAM ~4x the file"
    )
    parser.add_argument(
        "--run-path", choices=["limit", "naive", "streaming"], help=argparse.SUPPRESS
    )
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--spans", help=argparse.SUPPRESS)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.run_path:
        _child(arguments)
        return 0
    if arguments.generate_only:
        spans = generate(Path(arguments.file), arguments.images, arguments.size)
        Path(arguments.spans).write_text(json.dumps(spans))
        return 0
    with tempfile.TemporaryDirectory(dir=arguments.dir) as directory:
        file = Path(directory) / "output.jsonl"
        spans_file = Path(directory) / "spans.json"
        started = time.perf_counter()
        # In a subprocess: ru_maxrss survives fork+exec, so this parent must stay small.
        subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.batch_output",
                "--generate-only",
                "--images",
                str(arguments.images),
                "--size",
                arguments.size,
                "--file",
                str(file),
                "--spans",
                str(spans_file),
            ],
            check=True,
        )
        size_mb = file.stat().st_size / 1e6
        print(
            f"generated {arguments.images} x {arguments.size} images: {size_mb:.0f} MB "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        paths = ["limit", "streaming"] if arguments.skip_naive else ["limit", "naive", "streaming"]
        _measure("limit", file, spans_file)  # warm the page cache
        results = {name: _best_of(arguments.repeat, name, file, spans_file) for name in paths}
    limit_rate = size_mb / results["limit"]["seconds"]
    decoded = {name: int(result["decoded"]) for name, result in results.items()}
    if len(set(decoded.values())) != 1:
        print(f"paths disagree on decoded bytes: {decoded}", file=sys.stderr)
        return 1
    print(
        f"\n`python -m benchmarks.batch_output --images {arguments.images} --size {arguments.size}`"
        f": {arguments.images} images of {arguments.size}, file {size_mb:.0f} MB, "
        f"{decoded['limit'] / 1e6:.0f} MB of PNG\n"
    )
    print("| path | time (s) | MB/s | share of limit | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|")
    for name, result in results.items():
        rate = size_mb / result["seconds"]
        print(
            f"| {name} | {result['seconds']:.2f} | {rate:.0f} | {rate / limit_rate:.0%} "
            f"| {result['peak_rss_mb']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
