"""character_image: one Gemini batch image job for every prompt, streamed into storage.

Batch output files hold one multi-megabyte base64 image per line. They are read with the
streaming engine: each image goes from the downloaded file to a staging key in storage without
ever being whole in memory, and is moved to its final key once the line's key is known (the
service may write `key` after `response`).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from PIL import Image

from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.requests import SafetySetting, image_request
from chargen_resources.characters.thumbnails import thumbnail_markdown
from chargen_resources.gemini.batch_jobs import BatchJobRunner, BatchLine, iter_file_chunks
from chargen_resources.gemini.pricing import estimate_cost
from chargen_resources.pipeline.batch_results import LineResult, line_results
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.storage.layout import artifact_key, staging_key
from chargen_resources.streaming import (
    BatchOutputEvent,
    GeminiEvent,
    LineEnd,
    LineStart,
    StreamDone,
    StreamingGenerateClient,
    TextPart,
    parse_gemini_events,
    parse_sse,
    read_batch_output,
)
from chargen_resources.streaming.upload import ImageContext, upload_image_chunks

STAGE = "character_image"
ENDED_EARLY = "STREAM_ENDED_EARLY"


def _job_id(job_name: str) -> str:
    return job_name.rsplit("/", 1)[-1]


def _staging_namer(prefix: str, job_id: str) -> Callable[[ImageContext], str]:
    """Images wait under a staging key until their line's key is known."""

    def name(context: ImageContext) -> str:
        index = (context.line_index or 0) * 10 + context.image_index
        return staging_key(prefix, job_id, index, "png")

    return name


def as_png(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    return buffer.getvalue()


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
    mode: str,
    batch_job: str | None,
) -> None:
    """Move the final non-thought image of a good line to its key; fail the character otherwise."""
    problem = line.problem
    if problem is None and not line.images:
        details = "; ".join(line.image_problems)
        problem = "the response held no image" + (f" ({details})" if details else "")
    if problem is not None:
        for image in line.images:
            store.delete(image.key)
        outcome.fail(character, problem)
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
    thumbnail = thumbnail_markdown(store.get_bytes(key), character)
    output_tokens = line.usage.output_tokens + line.usage.thoughts_tokens
    outcome.succeeded[character] = GeneratedImage(
        character=character,
        image_key=key,
        image_uri=store.uri(key),
        width=final.width or 0,
        height=final.height or 0,
        bytes=size,
        finish_reason=line.finish_reason,
        model=model,
        mode="stream" if mode == "stream" else "batch",
        batch_job=batch_job,
        prompt_hash=prompt.prompt_hash,
        usage=line.usage,
        estimated_cost_usd=estimate_cost(
            model, line.usage.prompt_tokens, output_tokens, batch=mode != "stream"
        ),
        thumbnail=thumbnail,
    )


def generate_in_batch(
    prompts: Mapping[str, CompiledPrompt],
    *,
    store: BlobStore,
    prefix: str,
    runner: BatchJobRunner,
    model: str,
    safety_settings: Sequence[SafetySetting],
    delete_input: bool = True,
) -> StageOutcome[GeneratedImage]:
    outcome: StageOutcome[GeneratedImage] = StageOutcome(STAGE)
    if not prompts:
        return outcome
    lines = [
        BatchLine(key=key, request=image_request(prompt, safety_settings))
        for key, prompt in sorted(prompts.items())
    ]
    for job in runner.run(stage=STAGE, model=model, lines=lines, display_name="chargen-image"):
        outcome.job_of.update(dict.fromkeys(job.keys, job.job_name))
        seen: set[str] = set()
        name_staged = _staging_namer(prefix, _job_id(job.job_name))
        with tempfile.TemporaryDirectory(prefix="chargen-images-") as folder:
            output = runner.download_output(job, Path(folder) / "output.jsonl")
            events = read_batch_output(iter_file_chunks(output))
            stored = upload_image_chunks(events, store.image_sink(), name_staged)
            for line in line_results(stored):
                if line.key is None or line.key not in prompts:
                    for image in line.images:
                        store.delete(image.key)
                    continue
                seen.add(line.key)
                keep_final_image(
                    outcome,
                    line,
                    line.key,
                    prompts[line.key],
                    store=store,
                    prefix=prefix,
                    model=model,
                    mode="batch",
                    batch_job=job.job_name,
                )
        for key in job.keys:
            if key not in seen:
                outcome.fail(key, f"batch job {job.job_name} returned no line for this character")
        runner.finish(job, delete_files=delete_input)
    return outcome


def as_single_line(events: Iterable[GeminiEvent], key: str) -> Iterator[BatchOutputEvent]:
    """Frame a streamed response like one batch line, so one consumer reads both paths."""
    yield LineStart(index=0)
    for event in events:
        if isinstance(event, StreamDone):
            # Gemini always closes a complete answer with a finishReason; without one the
            # stream was cut, and a half image must not pass for a finished one.
            yield LineEnd(
                index=0,
                key=key,
                finish_reason=event.finish_reason or ENDED_EARLY,
                usage=event.usage,
                block_reason=event.block_reason,
            )
            return
        yield event
    yield LineEnd(index=0, key=key, finish_reason=ENDED_EARLY)


def generate_streaming(
    prompts: Mapping[str, CompiledPrompt],
    *,
    store: BlobStore,
    prefix: str,
    client: StreamingGenerateClient,
    model: str,
    safety_settings: Sequence[SafetySetting],
    timeout_seconds: float,
) -> StageOutcome[GeneratedImage]:
    """Interactive path (full price): streamGenerateContent per character, straight to storage."""
    outcome: StageOutcome[GeneratedImage] = StageOutcome(STAGE)
    for key, prompt in sorted(prompts.items()):
        try:
            request = image_request(prompt, safety_settings)
            body = client.stream(
                model=model,
                contents=[TextPart(prompt.text)],
                generation_config=request["generationConfig"],
                safety_settings=request["safetySettings"],
                timeout=timeout_seconds,
            )
            events = parse_gemini_events(parse_sse(body))
            stored = upload_image_chunks(
                as_single_line(events, key),
                store.image_sink(),
                key_for=_staging_namer(prefix, f"stream-{key}"),
            )
            for line in line_results(stored):
                keep_final_image(
                    outcome,
                    line,
                    key,
                    prompt,
                    store=store,
                    prefix=prefix,
                    model=model,
                    mode="stream",
                    batch_job=None,
                )
        except Exception as error:  # one character's failure must not stop the others
            outcome.fail(
                key,
                f"streaming generation failed ({error}); nothing was kept, re-run this character",
            )
    return outcome
