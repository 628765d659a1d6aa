"""The ``chargen`` operator command. Subcommands register themselves in ``SUBCOMMANDS``
(``chargen estimate`` lives in ``estimate_command.py``).

``chargen extract-batch-output FILE --out DIR`` turns a downloaded batch output JSONL into one
image per line, named after the line's key, plus ``manifest.jsonl``. It uses the same streaming
transforms as the platform, so memory stays bounded by one slice whatever the file size.
Per-line failures go to the manifest; the exit code is non-zero only for fatal problems.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from pydantic import BaseModel, ConfigDict

from chargen_resources.estimate_command import add_estimate
from chargen_resources.pipeline.batch_results import GOOD_FINISH_REASONS
from chargen_resources.streaming import (
    ImageBlock,
    ImageContext,
    ImageFailed,
    LineEnd,
    LineError,
    LocalFileSink,
    TokenUsage,
    read_batch_output,
    upload_image_chunks,
)
from chargen_resources.words import counted

READ_CHUNK_BYTES = 1024 * 1024
STAGING_DIR = ".chargen-staging"
MANIFEST_NAME = "manifest.jsonl"
MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "jpg": ".jpg", "webp": ".webp", "gif": ".gif"}

EXIT_OK = 0
EXIT_FATAL = 2


class ManifestTokens(BaseModel):
    model_config = ConfigDict(frozen=True)

    prompt: int | None = None
    candidates: int | None = None
    thoughts: int | None = None
    total: int | None = None

    @classmethod
    def from_usage(cls, usage: TokenUsage | None) -> ManifestTokens | None:
        if usage is None:
            return None
        return cls(
            prompt=usage.prompt_token_count,
            candidates=usage.candidates_token_count,
            thoughts=usage.thoughts_token_count,
            total=usage.total_token_count,
        )


class ManifestEntry(BaseModel):
    """One line of ``manifest.jsonl``: what happened to one batch output line."""

    model_config = ConfigDict(frozen=True)

    line: int
    key: str | None
    status: Literal["ok", "error", "no_image"]
    error: LineError | None = None
    file: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    format: str | None = None
    finish_reason: str | None = None
    block_reason: str | None = None
    tokens: ManifestTokens | None = None


def safe_file_stem(key: str | None, line_index: int) -> str:
    """A file name stem from a batch key: no separators, no leading dot, bounded length.

    When the key had to be changed, a short hash of it keeps distinct keys distinct.
    """
    if not key:
        return f"line-{line_index + 1:06d}"
    cleaned = _UNSAFE.sub("_", key).lstrip(".") or "_"
    if cleaned == key and len(key) <= MAX_NAME_CHARS:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:10]
    return f"{cleaned[:MAX_NAME_CHARS]}-{digest}"


def file_name_for(key: str | None, line_index: int, image_format: str | None) -> str:
    stem = safe_file_stem(key, line_index)
    extension = _EXTENSIONS.get((image_format or "").lower(), ".bin")
    if stem.lower().endswith(extension) or (extension == ".jpg" and stem.lower().endswith(".jpeg")):
        return stem
    return stem + extension


def refusal(end: LineEnd) -> LineError | None:
    """Why a line that carries no image was refused (a safety block, say), or None."""
    if end.block_reason:
        return LineError(
            status="PROMPT_BLOCKED",
            message=f"the prompt was blocked (promptFeedback.blockReason {end.block_reason})",
        )
    if end.finish_reason not in GOOD_FINISH_REASONS:  # refused, not merely answered in text
        return LineError(
            status=end.finish_reason,
            message=f"no image: the model stopped with finishReason {end.finish_reason}",
        )
    return None


@dataclass
class _Extraction:
    """State of one extract-batch-output run."""

    out: Path
    manifest: IO[str]
    staged: list[ImageBlock] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0, "no_image": 0})

    def staging_key(self, context: ImageContext) -> str:
        return f"{STAGING_DIR}/line-{context.line_index}-{context.image_index}"

    def finish_line(self, end: LineEnd) -> None:
        image = self.staged[-1] if self.staged else None
        for extra in self.staged[:-1]:  # the platform keeps the final image only
            self._staged_path(extra).unlink(missing_ok=True)
        self.staged = []
        error = end.error
        if error is None and image is None and self.failures:
            error = LineError(status="INVALID_IMAGE", message="; ".join(self.failures))
        if error is None and image is None:
            error = refusal(end)
        self.failures = []
        entry = ManifestEntry(
            line=end.index + 1,
            key=end.key,
            status="error" if error else ("ok" if image else "no_image"),
            error=error,
            finish_reason=end.finish_reason,
            block_reason=end.block_reason,
            tokens=ManifestTokens.from_usage(end.usage),
        )
        if image is not None and error is None:
            name = self._unique(file_name_for(end.key, end.index, image.format))
            self._staged_path(image).replace(self.out / name)
            entry = entry.model_copy(
                update={
                    "file": name,
                    "width": image.width,
                    "height": image.height,
                    "bytes": image.content_length,
                    "format": image.format,
                }
            )
        elif image is not None:
            self._staged_path(image).unlink(missing_ok=True)
        self.counts[entry.status] += 1
        self.manifest.write(entry.model_dump_json() + "\n")

    def _staged_path(self, image: ImageBlock) -> Path:
        return self.out.joinpath(*image.key.split("/"))

    def _unique(self, name: str) -> str:
        candidate, number = name, 1
        while candidate in self.used_names or candidate == MANIFEST_NAME:
            number += 1
            stem, dot, extension = name.rpartition(".")
            candidate = f"{stem}-{number}.{extension}" if dot else f"{name}-{number}"
        self.used_names.add(candidate)
        return candidate


def read_chunks(path: Path, size: int = READ_CHUNK_BYTES) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def extract_batch_output(source: Path, out: Path) -> dict[str, int]:
    """Write images and manifest.jsonl for ``source`` into ``out``; returns counts by status."""
    out.mkdir(parents=True, exist_ok=True)
    staging = out / STAGING_DIR
    try:
        with (out / MANIFEST_NAME).open("w", encoding="utf-8") as manifest:
            run = _Extraction(out=out, manifest=manifest)
            events = read_batch_output(read_chunks(source))
            uploaded = upload_image_chunks(events, LocalFileSink(out), run.staging_key)
            for event in uploaded:
                if isinstance(event, ImageBlock):
                    run.staged.append(event)
                elif isinstance(event, ImageFailed):
                    run.failures.append(event.reason)
                elif isinstance(event, LineEnd):
                    run.finish_line(event)
    finally:  # a crash or Ctrl-C must not leave staged images behind in the output directory
        shutil.rmtree(staging, ignore_errors=True)
    return run.counts


def _extract_command(arguments: argparse.Namespace) -> int:
    source: Path = arguments.file
    if not source.is_file():
        print(
            f"chargen: {source} is not a file; pass the downloaded batch output JSONL",
            file=sys.stderr,
        )
        return EXIT_FATAL
    try:
        counts = extract_batch_output(source, arguments.out)
    except OSError as error:
        print(f"chargen: extracting {source} into {arguments.out} failed: {error}", file=sys.stderr)
        return EXIT_FATAL
    print(
        f"{counted(sum(counts.values()), 'line')}: {counts['ok']} images written, "
        f"{counts['no_image']} without image, {counts['error']} failed; "
        f"see {arguments.out / MANIFEST_NAME}",
        file=sys.stderr,
    )
    if counts["ok"] == 0 and counts["error"] == sum(counts.values()) > 0:
        print(
            f"chargen: no line of {source} held a batch answer; is it the output file of a "
            "batch job (its downloaded `responsesFile`)?",
            file=sys.stderr,
        )
    return EXIT_OK


def _add_extract(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "extract-batch-output",
        help="write the images of a downloaded batch output JSONL, one per line, plus a manifest",
        description=(
            "Read a Gemini batch output JSONL (streaming, bounded memory) and write one image per "
            "line named after its key, plus manifest.jsonl (key, status, error, width, height, "
            "bytes, tokens). Per-line failures are recorded in the manifest."
        ),
    )
    parser.add_argument("file", type=Path, help="the batch output JSONL file")
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.set_defaults(handler=_extract_command)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    _add_extract,
    add_estimate,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chargen", description="chargen operator commands")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = arguments.handler
    try:
        code = handler(arguments)
        sys.stdout.flush()  # a pipe closed early shows here, not at exit
        return code
    except BrokenPipeError:
        # The reader stopped reading (`chargen estimate | head`): nothing went wrong here. The
        # rest of the output goes nowhere, so that Python's flush at exit does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
