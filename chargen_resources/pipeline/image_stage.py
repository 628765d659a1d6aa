"""character_image: Gemini image generation for every prompt, streamed into storage.

Batch output files hold one multi-megabyte base64 image per line. They are read in one pass with
the streaming engine: each image goes from the service's download response, as it arrives, to a
staging key in storage (S3 multipart or a local file) without ever being whole in memory or on
local disk, and is moved to its final key once the line's key is known (the service may write
`key` after `response`).
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image

from chargen_resources.characters.artifacts import Backend, GeneratedImage
from chargen_resources.characters.image_qa import failed as qa_failed
from chargen_resources.characters.image_qa import inspect_image
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.requests import SafetySetting, image_request
from chargen_resources.characters.thumbnails import thumbnail_markdown
from chargen_resources.gemini.batch_jobs import FinishedJob
from chargen_resources.gemini.ledger import Claimant, Ledger, StagingArea
from chargen_resources.gemini.pricing import estimate_cost
from chargen_resources.pipeline.batch_results import LineResult, line_results
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.paid_stage import PaidStage
from chargen_resources.pipeline.streamed import as_single_line
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.storage.layout import artifact_key, staging_folder, staging_key
from chargen_resources.streaming import (
    StreamingGenerateClient,
    TextPart,
    parse_gemini_events,
    parse_sse,
    read_batch_output,
)
from chargen_resources.streaming.upload import ImageContext, upload_image_chunks

STAGE = "character_image"


def _job_id(job_name: str) -> str:
    return job_name.rsplit("/", 1)[-1]


def _staging_namer(prefix: str, area: str) -> Callable[[ImageContext], str]:
    """Images wait under a staging key until their line's key is known."""

    def name(context: ImageContext) -> str:
        index = (context.line_index or 0) * 10 + context.image_index
        return staging_key(prefix, area, index, "png")

    return name


def _empty(store: BlobStore, folder: str) -> None:
    for key in store.list_keys(folder):
        store.delete(key)


def as_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    return buffer.getvalue()


def still_valid(
    old: GeneratedImage,
    prompt: CompiledPrompt,
    model: str,
    store: BlobStore,
    qa_must_pass: bool = False,
) -> bool:
    """A stored image made from this very prompt by this model, still in storage (and, when
    QA failures are dead-lettered, passing its QA checks)."""
    if qa_must_pass and qa_failed(old.qa):
        return False
    return (
        old.prompt_hash == prompt.prompt_hash and old.model == model and store.exists(old.image_key)
    )


def final_image_key(prefix: str, character: str) -> str:
    return artifact_key(prefix, STAGE, character, "png")


def keep_final_image(
    outcome: StageOutcome[GeneratedImage],
    line: LineResult,
    character: str,
    prompt: CompiledPrompt,
    *,
    store: BlobStore,
    prefix: str,
    model: str,
    batch_job: str | None,
    backend: Backend | None = None,
) -> None:
    """Move the final non-thought image of a good line to its key; fail the character otherwise."""
    problem = line.problem
    if problem is None and not line.images:
        details = "; ".join(line.image_problems)
        problem = "the response held no image" + (f" ({details})" if details else "")
    if problem is not None:
        for image in line.images:
            store.delete(image.key)
        outcome.fail(character, problem, content=line.refused)
        return
    final = line.images[-1]
    for draft in line.images[:-1]:
        store.delete(draft.key)
    if final.width is None or final.height is None:
        store.delete(final.key)
        outcome.fail(
            character,
            "the returned image could not be read (damaged or cut short); nothing was kept, "
            "re-run this character",
        )
        return
    key = final_image_key(prefix, character)
    size = final.content_length
    if final.format == "png":
        store.move(final.key, key)
    else:  # rare (JPEG/WEBP answers): the asset promises PNG; one image fits in memory
        png = as_png(store.get_bytes(final.key))
        store.put_bytes(key, png, "image/png")
        store.delete(final.key)
        size = len(png)
    # Made once here, kept with the record: a later run that keeps this image needs no download.
    png = store.get_bytes(key)
    thumbnail = thumbnail_markdown(png, character)
    qa = inspect_image(
        png, model=model, aspect_ratio=prompt.aspect_ratio, image_size=prompt.image_size
    )
    outcome.succeeded[character] = GeneratedImage(
        character=character,
        image_key=key,
        image_uri=store.uri(key),
        width=final.width or 0,
        height=final.height or 0,
        bytes=size,
        finish_reason=line.finish_reason,
        model=model,
        mode="batch" if batch_job else "interactive",
        batch_job=batch_job,
        prompt_hash=prompt.prompt_hash,
        usage=line.usage,
        estimated_cost_usd=estimate_cost(
            model,
            line.usage.prompt_tokens,
            line.usage.output_tokens,
            thoughts_tokens=line.usage.thoughts_tokens,
            batch=batch_job is not None,
        ),
        thumbnail=thumbnail,
        qa=qa,
        made_at=datetime.now(UTC),
        backend=backend,
    )


def image_stage(
    *,
    store: BlobStore,
    prefix: str,
    ledger: Ledger,
    client: StreamingGenerateClient,
    model: str,
    safety_settings: Sequence[SafetySetting],
    timeout_seconds: float,
    # Longer than any download and read (the download alone may take 6 h): only then may a
    # run on another host presume a reader whose claimant it cannot see is gone.
    abandon_after: timedelta = timedelta(hours=26),
    backend: Backend | None = None,
) -> PaidStage[CompiledPrompt, GeneratedImage]:
    reader = f"r{secrets.token_hex(4)}"  # this run's own staging folder per answer it reads

    @contextmanager
    def staging_area(area: str) -> Iterator[Callable[[ImageContext], str]]:
        """A staging folder of our own, registered in the ledger while in use, emptied after."""
        ledger.open_staging(StagingArea(area=area, claimant=Claimant.this_process()))
        try:
            yield _staging_namer(prefix, area)
        finally:
            _empty(store, staging_folder(prefix, area))
            ledger.close_staging(area)

    def sweep() -> None:
        """Empty the staging folders of readers that died (a kill mid-read leaves them)."""
        for area in ledger.staging_areas():
            alive = area.claimant.is_alive()
            stale = datetime.now(UTC) - area.opened_at > abandon_after
            if alive is False or (alive is None and stale):
                _empty(store, staging_folder(prefix, area.area))
                ledger.close_staging(area.area)

    def content_request(character: str, prompt: CompiledPrompt) -> dict[str, Any]:
        return image_request(prompt, safety_settings)

    def read_output(job: FinishedJob, chunks: Iterator[bytes]) -> Iterator[LineResult]:
        """`chunks` is the download itself (`BatchJobRunner.output_chunks`): one pass."""
        with staging_area(f"{_job_id(job.job_name)}-{reader}") as namer:
            events = read_batch_output(chunks)
            yield from line_results(upload_image_chunks(events, store.image_sink(), namer))

    def send_interactive(character: str, prompt: CompiledPrompt) -> Iterable[LineResult]:
        request = image_request(prompt, safety_settings)
        with staging_area(f"interactive-{character}-{reader}") as namer:
            body = client.stream(
                model=model,
                contents=[TextPart(prompt.text)],
                generation_config=request["generationConfig"],
                safety_settings=request["safetySettings"],
                timeout=timeout_seconds,
            )
            events = parse_gemini_events(parse_sse(body))
            yield from line_results(
                upload_image_chunks(as_single_line(events, character), store.image_sink(), namer)
            )

    def keep(
        outcome: StageOutcome[GeneratedImage],
        line: LineResult,
        character: str,
        prompt: CompiledPrompt,
        job_name: str | None,
    ) -> None:
        keep_final_image(
            outcome,
            line,
            character,
            prompt,
            store=store,
            prefix=prefix,
            model=model,
            batch_job=job_name,
            backend=backend,
        )

    def discard(line: LineResult) -> None:
        for image in line.images:
            store.delete(image.key)

    return PaidStage(
        name=STAGE,
        model=model,
        job_display_name="chargen-image",
        content_request=content_request,
        read_output=read_output,
        send_interactive=send_interactive,
        keep=keep,
        discard=discard,
        sweep=sweep,
    )
