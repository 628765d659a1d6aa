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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import IO, Any, cast

from PIL import Image

from chargen_resources.characters.artifacts import (
    Backend,
    CastStyle,
    GeneratedImage,
    SourceImages,
    stands_for,
)
from chargen_resources.characters.image_qa import (
    ImageFacts,
    inspect_image,
    measure_image,
    open_image,
)
from chargen_resources.characters.image_qa import failed as qa_failed
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.requests import (
    SafetySetting,
    content_references,
    image_request,
    noted_groups,
)
from chargen_resources.characters.thumbnails import (
    glance_of,
    jpeg_bytes,
    thumbnail_image,
)
from chargen_resources.gemini.batch_jobs import BatchLine, FinishedJob, Prepared
from chargen_resources.gemini.ledger import Claimant, Ledger, StagingArea
from chargen_resources.gemini.models import max_reference_images
from chargen_resources.gemini.pricing import estimate_cost
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.batch_results import LineResult, line_results
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.paid_stage import PaidStage
from chargen_resources.pipeline.prompt_stage import chosen_references
from chargen_resources.pipeline.references import uploaded_references
from chargen_resources.pipeline.streamed import as_single_line
from chargen_resources.storage.blob_store import BlobStore
from chargen_resources.storage.layout import (
    artifact_key,
    staging_folder,
    staging_key,
    take_key,
    takes_folder,
)
from chargen_resources.streaming import (
    InlineDataPart,
    SizedChunks,
    StreamingGenerateClient,
    TextPart,
    parse_gemini_events,
    parse_sse,
    read_batch_output,
)
from chargen_resources.streaming.ahead import worked_ahead
from chargen_resources.streaming.chunk_file import ChunkFile
from chargen_resources.streaming.types import ImageBlock
from chargen_resources.streaming.upload import ImageContext, upload_image_chunks

STAGE = stage_names.IMAGE


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
    store.remove_empty_folder(folder)


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
    answering: Backend | None,
    qa_must_pass: bool = False,
) -> bool:
    """A stored image made from this very prompt (text, settings, references) by this model,
    of a backend that may stand for `answering` (`stands_for`), still in storage (and, when QA
    failures are dead-lettered, passing its QA tests)."""
    if qa_must_pass and qa_failed(old.qa):
        return False
    return (
        old.prompt_hash == prompt.prompt_hash
        and old.model == model
        and stands_for(old.backend, answering)
        and store.exists(old.image_key)
    )


def content_request(prompt: CompiledPrompt, safety: Sequence[SafetySetting]) -> dict[str, Any]:
    """The image request as its fingerprint sees it: its sketches by content hash, whatever
    name the Files API gave them (the run and the estimate alike)."""
    return image_request(prompt, safety, content_references(prompt))


LOCKED_WITHOUT_IMAGE = (
    "character.yaml says locked: true, but no image of it is stored yet; remove "
    "locked (or set it to false) to generate its first take"
)


def too_many_references(sketches: int, style_images: int, model: str) -> str | None:
    """Why a request with these references cannot go to `model`, and what to do (None when it
    can): the character's sketches and the cast's style images count alike."""
    limit = max_reference_images(model)
    if sketches + style_images <= limit:
        return None
    choose = "in character.yaml (reference_images: [front.png, side.png], or none)"
    if not style_images:
        return (
            f"{sketches} reference sketches, but {model} takes at most {limit} images per "
            f"request; choose up to {limit} {choose}"
        )
    return (
        f"{sketches} reference sketches and the cast's {style_images} style images, but {model} "
        f"takes at most {limit} images per request; choose up to {max(limit - style_images, 0)} "
        f"sketches {choose}, or keep fewer images in _style/ and then re-run this character"
    )


def never_sendable(
    sources: Mapping[str, SourceImages],
    style: CastStyle,
    model: str,
    imaged: Collection[str] = (),
) -> dict[str, str]:
    """Characters whose image could never be asked for as they are, with what to do: locked
    (an approved take, never generated again) with no take stored (`imaged`: the characters
    that have one), their character.yaml's reference_images names a sketch the folder lacks,
    or the request would carry more references than `model` takes (the sketches it picks, then
    the cast's style images). Refused before anything is paid for them, not after their
    analysis."""
    refused: dict[str, str] = {}
    for key in sorted(sources):  # one at a time: they may be held packed
        if sources[key].locked and key not in imaged:
            refused[key] = LOCKED_WITHOUT_IMAGE
            continue
        try:
            sketches = len(chosen_references(sources[key]))
        except ValueError as error:  # a reference_images name that is not there
            refused[key] = str(error)
            continue
        if (reason := too_many_references(sketches, len(style.images), model)) is not None:
            refused[key] = reason
    return refused


def refusals(prompts: Mapping[str, CompiledPrompt], model: str) -> dict[str, str]:
    """Prompts that cannot be sent as they are, each with what to do: more sketches than the
    model takes in one request."""
    refused: dict[str, str] = {}
    for key, prompt in prompts.items():
        styles = sum(1 for reference in prompt.references if reference.role == "style")
        reason = too_many_references(len(prompt.references) - styles, styles, model)
        if reason is not None:
            refused[key] = reason
    return refused


@dataclass(frozen=True)
class LookedAt:
    """What a final image's pixels say, decoded once for its thumbnail and its checks: a few
    KB, whatever the image's size."""

    thumbnail: bytes | None
    glance: str | None  # the thumbnail small enough to show inline (`glance_of`)
    pixels: ImageFacts | str  # measured, or why they do not decode


def look_at(store: BlobStore, image: ImageBlock, character: str) -> LookedAt:
    """Decode a staged image as it is read from the store, for its thumbnail, its inline
    glance and its checks (its bytes are never whole in memory, only its pixels; it only reads:
    safe in a worker thread). A rare JPEG/WEBP answer is looked at as the PNG it will be stored
    as."""
    if image.format == "png":
        with closing(store.iter_bytes(image.key)) as chunks:
            decoded = open_image(cast(IO[bytes], ChunkFile(chunks)))
    else:
        decoded = open_image(as_png(store.get_bytes(image.key)))
    if isinstance(decoded, str):
        return LookedAt(thumbnail=None, glance=None, pixels=decoded)
    small = thumbnail_image(decoded)
    return LookedAt(
        thumbnail=jpeg_bytes(small),
        glance=glance_of(small, character),
        pixels=measure_image(decoded),
    )


def look_threads(prompts: Iterable[CompiledPrompt]) -> int:
    """How many answers are looked at at once. Decoding and shrinking leave the GIL, so two keep
    both cores busy while the lines before them are kept; a 4K image is 48 MB of pixels, so a
    stage that asks for any goes one at a time and its reading stays under 64 MB (two 2K
    images: 24 MB)."""
    return 1 if any(prompt.image_size == "4K" for prompt in prompts) else 2


def image_to_keep(line: LineResult) -> ImageBlock | None:
    """The line's final image when `keep_final_image` would keep it (its checks aside)."""
    if line.problem is not None or not line.images:
        return None
    final = line.images[-1]
    return final if final.width is not None and final.height is not None else None


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
    look: LookedAt | None = None,
) -> None:
    """Move the final non-thought image of a good line to its key; fail the character otherwise.
    `look` is `look_at` of that image when it was worked out ahead."""
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
    looked = look if look is not None else look_at(store, final, character)
    size = final.content_length
    if final.format == "png":
        store.move(final.key, key)
    else:  # rare (JPEG/WEBP answers): the asset promises PNG; one image fits in memory
        png = as_png(store.get_bytes(final.key))
        store.put_bytes(key, png, "image/png")
        store.delete(final.key)
        size = len(png)
    # Made once here: a later run that keeps this image needs no download. The thumbnail is
    # stored beside the take rather than in the record, which a run holds for every character.
    thumbnail = looked.thumbnail
    qa = inspect_image(
        looked.pixels,
        model=model,
        aspect_ratio=prompt.aspect_ratio,
        image_size=prompt.image_size,
    )
    take = _keep_take(store, prefix, character)
    if thumbnail is not None:
        store.put_bytes(take_key(prefix, STAGE, character, take, "jpg"), thumbnail, "image/jpeg")
    record = GeneratedImage(
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
        glance=looked.glance,
        qa=qa,
        made_at=datetime.now(UTC),
        backend=backend,
        references=[reference.name for reference in prompt.references],
        take=take,
    )
    store.put_bytes(
        take_key(prefix, STAGE, character, take, "json"),
        record.model_dump_json().encode(),
        "application/json",
    )
    outcome.succeeded[character] = record


def thumbnail_key(prefix: str, image: GeneratedImage) -> str | None:
    """Where the image's small JPEG is stored beside its take (None: an older record holds it
    inline, or it has none)."""
    if image.thumbnail is not None or image.take is None:
        return None
    return take_key(prefix, STAGE, image.character, image.take, "jpg")


def _keep_take(store: BlobStore, prefix: str, character: str) -> int:
    """Every generated image is kept as a numbered take beside the current one (a copy of the
    final image, made by the store: no bytes written again). The same image read again (a run
    resumed after a crash) is the same take, not a new one."""
    folder = takes_folder(prefix, STAGE, character)
    taken = sum(1 for key in store.list_keys(folder) if key.endswith(".png"))  # one listing
    final = final_image_key(prefix, character)
    if taken:  # only on a re-run does this read anything
        latest = store.get_bytes(take_key(prefix, STAGE, character, taken, "png"))
        if latest == store.get_bytes(final):
            return taken
    store.copy(final, take_key(prefix, STAGE, character, taken + 1, "png"))
    return taken + 1


def reference_parts(store: BlobStore, prompt: CompiledPrompt) -> list[TextPart | InlineDataPart]:
    """The prompt's references as inline parts, each kind after its note (as in batch), read
    from the store chunk by chunk as the request body is sent (never whole in memory, nor
    their base64)."""
    parts: list[TextPart | InlineDataPart] = []
    for note, these in noted_groups(prompt.references):
        parts.append(TextPart(note))
        for reference in these:
            if reference.size_bytes is None:  # recorded before sizes were: small sketches
                data: bytes | SizedChunks = store.get_bytes(reference.key)
            else:
                data = SizedChunks(reference.size_bytes, partial(store.iter_bytes, reference.key))
            parts.append(InlineDataPart(reference.mime_type, data))
    return parts


def image_stage(
    *,
    store: BlobStore,
    prefix: str,
    ledger: Ledger,
    client: StreamingGenerateClient,
    model: str,
    safety_settings: Sequence[SafetySetting],
    timeout_seconds: float,
    uploads: UploadCache,
    prompts: Mapping[str, CompiledPrompt],
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

    def upload_and_build(group: Sequence[str]) -> Prepared:
        """Only for a new job: each sketch goes as a `fileData` reference to its upload,
        reused by content hash (the analysis job's, while still on the service), so the job's
        input file stays small; the job deletes them when it ends. The requests are built as
        the input file is written."""
        wanted = {character: prompts[character].references for character in group}
        sent = uploaded_references(wanted, uploads=uploads, store=store)
        lines = (
            BatchLine(
                key=character,
                request=image_request(prompts[character], safety_settings, references),
            )
            for character, references in sent.by_character.items()
        )
        return Prepared(lines, uploaded_files=sent.file_names)

    # Each batch line's final image, looked at by a worker thread while the lines before it
    # are kept (decoding and shrinking leave the GIL), by staging key until `keep` takes it.
    # Two at a time up to 2K, one at 4K (`look_threads`).
    looks: dict[str, LookedAt] = {}
    looking_threads = look_threads(prompts.values())

    def looked_at_ahead(lines: Iterator[LineResult]) -> Iterator[LineResult]:
        def look(line: LineResult) -> tuple[LineResult, LookedAt | None]:
            image = image_to_keep(line)
            if image is None or line.key is None:  # nothing kept, or for no character
                return line, None
            return line, look_at(store, image, line.key)

        for line, looked in worked_ahead(look, lines, threads=looking_threads, name="image-look"):
            if looked is not None:
                looks[line.images[-1].key] = looked
            yield line

    def read_output(job: FinishedJob, chunks: Iterator[bytes]) -> Iterator[LineResult]:
        """`chunks` is the download itself (`BatchJobRunner.output_chunks`): one pass."""
        with staging_area(f"{_job_id(job.job_name)}-{reader}") as namer:
            events = read_batch_output(chunks)
            lines = line_results(upload_image_chunks(events, store.image_sink(), namer))
            yield from looked_at_ahead(lines)

    def send_interactive(character: str, prompt: CompiledPrompt) -> Iterable[LineResult]:
        request = image_request(prompt, safety_settings)
        with staging_area(f"interactive-{character}-{reader}") as namer:
            parts: list[TextPart | InlineDataPart] = [TextPart(prompt.text)]
            parts.extend(reference_parts(store, prompt))
            body = client.stream(
                model=model,
                contents=parts,
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
            look=looks.pop(line.images[-1].key, None) if line.images else None,
        )

    def discard(line: LineResult) -> None:
        for image in line.images:
            looks.pop(image.key, None)
            store.delete(image.key)

    return PaidStage(
        name=STAGE,
        model=model,
        job_display_name="chargen-image",
        content_request=lambda _, prompt: content_request(prompt, safety_settings),
        read_output=read_output,
        send_interactive=send_interactive,
        keep=keep,
        discard=discard,
        sweep=sweep,
        prepare=upload_and_build,
    )
