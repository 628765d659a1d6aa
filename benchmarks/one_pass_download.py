"""Benchmark: a batch output from the (emulated) service to storage in one pass.

    python -m benchmarks.one_pass_download --images 200 --size 2K --mb-per-second 50

Writes a batch output of N incompressible PNG lines (``benchmarks.batch_output.generate``) into
a fresh emulator state as a generated file, serves it with ``chargen-emulator serve`` in its own
process at a download bandwidth of ``--mb-per-second``, then measures in fresh subprocesses:

* ``download``: ``BatchJobRunner.output_chunks`` drained and dropped (the download alone);
* ``one-pass``: the image stage's ``read_output`` over ``output_chunks``: every line parsed,
  every image decoded, probed and written to a local blob store (``--store``).

Each child gets an empty ``TMPDIR``; the parent samples that folder's size every 20 ms while the
child runs (peak bytes in the temp directory) and reports the wall time ratio and peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.batch_output import SIZES, generate

FILE_ID = "batch-bench"


def _child(mode: str, base_url: str, store_root: Path) -> None:
    from google import genai
    from google.genai import types

    from chargen_resources.gemini.batch_jobs import BatchJobRunner, FinishedJob
    from chargen_resources.gemini.ledger import Claimant, JobRecord, Ledger
    from chargen_resources.gemini.uploads import UploadCache
    from chargen_resources.pipeline.image_stage import image_stage
    from chargen_resources.storage.blob_store import LocalBlobStore
    from chargen_resources.streaming import GoogleGenAIApiAdapter, StreamingGenerateClient

    client = genai.Client(
        api_key="bench", http_options=types.HttpOptions(base_url=base_url, api_version="v1beta")
    )
    store = LocalBlobStore(store_root)
    ledger = Ledger(store, "chargen")
    runner = BatchJobRunner(client=client, ledger=ledger, log=lambda _: None)
    record = JobRecord(
        display_name="bench",
        stage="character_image",
        model="gemini-3-pro-image-preview",
        claimant=Claimant.this_process(),
        job_name="batches/bench",
        output_file=f"files/{FILE_ID}",
    )
    job = FinishedJob(record, {}, owned=False)
    baseline_mb = _rss_mb()  # imports and clients: what any process of the platform has
    started = time.perf_counter()
    received = images = 0
    if mode == "download":
        for chunk in runner.output_chunks(job):
            received += len(chunk)
    else:
        stage = image_stage(
            store=store,
            prefix="chargen",
            ledger=ledger,
            client=StreamingGenerateClient(GoogleGenAIApiAdapter(client)),
            model="gemini-3-pro-image-preview",
            safety_settings=[],
            timeout_seconds=60,
            uploads=UploadCache(client, ledger),
            prompts={},  # reads an output only: sends nothing
        )
        for line in stage.read_output(job, runner.output_chunks(job)):
            images += len(line.images)
            received += sum(image.content_length for image in line.images)
            stage.discard(line)  # keep the disk flat: the store is not what is measured
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_kib / 1024,
                "bytes": received,
                "images": images,
                "reading_rss_mb": peak_kib / 1024 - baseline_mb,
            }
        )
    )


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024**2


def _folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        with contextlib.suppress(FileNotFoundError):  # a file may go while we look
            total += path.stat().st_size if path.is_file() else 0
    return total


def _measure(mode: str, base_url: str, work: Path) -> dict[str, float]:
    temp = work / f"tmp-{mode}"
    store = work / f"store-{mode}"
    for folder in (temp, store):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
    command = [
        sys.executable,
        "-m",
        "benchmarks.one_pass_download",
        "--run",
        mode,
        "--base-url",
        base_url,
        "--store",
        str(store),
    ]
    child = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(temp)}
    )
    peak_temp = 0
    while child.poll() is None:  # sampling a measurement, not waiting for a result
        peak_temp = max(peak_temp, _folder_bytes(temp))
        time.sleep(0.02)
    out, _ = child.communicate()
    if child.returncode:
        raise SystemExit(f"{mode} failed with exit code {child.returncode}")
    result: dict[str, float] = json.loads(out)
    result["peak_temp_bytes"] = max(peak_temp, _folder_bytes(temp))
    result["temp_files_left"] = len(list(temp.iterdir()))
    return result


def _serve(state: Path, bytes_per_second: float) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "CHARGEN_EMULATOR_DOWNLOAD_BYTES_PER_SECOND": str(bytes_per_second)}
    with socket_port() as port:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "chargen_resources.emulator.cli",
                "serve",
                "--port",
                str(port),
                "--state-dir",
                str(state),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(500):  # readiness of a separate process: ask until it answers
        try:
            urllib.request.urlopen(f"{base_url}/emulator/status", timeout=1).close()
            return server, base_url
        except OSError:
            time.sleep(0.02)
    server.kill()
    raise SystemExit(f"the emulator did not start on {base_url}")


@contextlib.contextmanager
def socket_port() -> Iterator[int]:
    """A free loopback port (released just before the server binds it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        yield int(probe.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", choices=sorted(SIZES), default="2K")
    parser.add_argument("--mb-per-second", type=float, default=50.0)
    parser.add_argument("--run", choices=["download", "one-pass"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.run:
        _child(arguments.run, arguments.base_url, Path(arguments.store))
        return 0

    from chargen_resources.emulator.clock import EmulatorClock
    from chargen_resources.emulator.file_store import FileStore

    with tempfile.TemporaryDirectory(prefix="chargen-bench-") as folder:
        work = Path(folder)
        state = work / "emulator"
        files = FileStore(state, EmulatorClock(state))
        generate(files.data_path(FILE_ID), arguments.images, arguments.size)
        files.register_generated(FILE_ID, "bench", "application/jsonl")
        size = files.data_path(FILE_ID).stat().st_size
        server, base_url = _serve(state, arguments.mb_per_second * 1e6)
        try:
            download = _measure("download", base_url, work)
            one_pass = _measure("one-pass", base_url, work)
        finally:
            server.terminate()
            server.wait()
    assert download["bytes"] == size and one_pass["images"] == arguments.images
    print(
        f"{arguments.images} images at {arguments.size}, {size / 1e6:.0f} MB, served at "
        f"{arguments.mb_per_second:g} MB/s\n"
    )
    print(
        "| path | wall time | MB/s | peak RSS (process) | of it, the reading | peak bytes in TMPDIR |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, run in (("download alone", download), ("one pass (download + store)", one_pass)):
        print(
            f"| {name} | {run['seconds']:.1f} s | {size / 1e6 / run['seconds']:.0f} | "
            f"{run['peak_rss_mb']:.0f} MB | {run['reading_rss_mb']:.0f} MB | "
            f"{run['peak_temp_bytes']:.0f} |"
        )
    print(f"\none pass / download alone: {one_pass['seconds'] / download['seconds']:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
