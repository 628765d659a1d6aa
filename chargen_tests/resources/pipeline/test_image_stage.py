from __future__ import annotations

import base64
import io
import json
import random
import tempfile
import tracemalloc
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from google import genai
from PIL import Image

from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.thumbnails import read_thumbnail
from chargen_resources.emulator import EmulatorSettings, RunningEmulator
from chargen_resources.emulator.clock import EmulatorClock
from chargen_resources.emulator.file_store import FileStore
from chargen_resources.gemini.batch_jobs import BatchJobRunner, FinishedJob, PollPolicy
from chargen_resources.gemini.ledger import Claimant, JobRecord, Ledger
from chargen_resources.gemini.models import DEFAULT_IMAGE_MODEL as IMAGE_MODEL
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline.batch_results import LineResult
from chargen_resources.pipeline.image_stage import (
    final_image_key,
    image_stage,
    keep_final_image,
    look_threads,
    still_valid,
    thumbnail_key,
)
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.paid_stage import PaidStage, carry
from chargen_resources.storage.blob_store import BlobStore, LocalBlobStore, S3BlobStore
from chargen_resources.streaming import (
    GoogleGenAIApiAdapter,
    ImageSink,
    ImageWriter,
    StoredObject,
    StreamingGenerateClient,
)
from chargen_resources.streaming.types import ImageBlock
from chargen_tests.factories import compiled_prompt, generated_image
from chargen_tests.fixtures.emulator import TEST_SETTINGS

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def stored_thumbnail(store: BlobStore, prefix: str, image: GeneratedImage) -> bytes | None:
    """The image's small JPEG, as the catalog reads it: beside its take, or in an older record."""
    return read_thumbnail(store, thumbnail_key(prefix, image), image.thumbnail)


def test_final_images_live_at_the_asset_key() -> None:
    assert final_image_key("chargen", "ash") == "chargen/character_image/ash.png"


def test_non_png_answers_are_stored_as_png_and_unreadable_ones_fail(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 12), (200, 10, 10)).save(buffer, format="JPEG")
    store.put_bytes("chargen/_staging/j/0.png", buffer.getvalue(), "image/jpeg")
    store.put_bytes("chargen/_staging/j/1.png", b"junk", "image/png")
    prompt = compiled_prompt(template_version="v")

    def block(key: str, width: int | None, fmt: str | None) -> ImageBlock:
        return ImageBlock(
            url=key,
            key=key,
            bucket=None,
            width=width,
            height=width,
            format=fmt,
            content_type="image/jpeg",
            content_length=len(store.get_bytes(key)),
        )

    outcome: StageOutcome[GeneratedImage] = StageOutcome("character_image")
    good = LineResult(index=0, key="ash", images=[block("chargen/_staging/j/0.png", 8, "jpeg")])
    bad = LineResult(index=1, key="brook", images=[block("chargen/_staging/j/1.png", None, None)])
    for line in (good, bad):
        keep_final_image(
            outcome,
            line,
            line.key or "",
            prompt,
            store=store,
            prefix="chargen",
            model="m",
            batch_job="batches/j",
        )
    stored = store.get_bytes("chargen/character_image/ash.png")
    assert stored.startswith(b"\x89PNG") and outcome.succeeded["ash"].bytes == len(stored)
    assert "could not be read" in outcome.failed["brook"]
    assert list(store.list_keys("chargen/_staging")) == []
    # The thumbnail is stored beside the take, not carried in the record a run holds.
    kept = outcome.succeeded["ash"]
    assert kept.thumbnail is None and kept.take == 1 and kept.glance is not None
    thumbnail = stored_thumbnail(store, "chargen", kept)
    assert thumbnail == store.get_bytes("chargen/character_image/ash/takes/01.jpg")
    with Image.open(io.BytesIO(thumbnail)) as opened:
        assert opened.format == "JPEG"


def test_a_png_cut_short_after_its_header_is_kept_with_a_failed_check(tmp_path: Path) -> None:
    """Its size reads (the header is whole) but its pixels do not: the image is kept for a
    person to look at, its decode check fails, and there is no thumbnail to make."""
    store = LocalBlobStore(tmp_path)
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 60).convert("RGB").save(buffer, format="PNG")
    cut = buffer.getvalue()[:200]
    store.put_bytes("chargen/_staging/j/0.png", cut, "image/png")
    image = ImageBlock(
        url="chargen/_staging/j/0.png",
        key="chargen/_staging/j/0.png",
        bucket=None,
        width=64,
        height=64,
        format="png",
        content_type="image/png",
        content_length=len(cut),
    )
    outcome: StageOutcome[GeneratedImage] = StageOutcome("character_image")
    line = LineResult(index=0, key="ash", images=[image])
    keep_final_image(
        outcome,
        line,
        "ash",
        compiled_prompt(template_version="v"),
        store=store,
        prefix="chargen",
        model="m",
        batch_job="batches/j",
    )
    kept = outcome.succeeded["ash"]
    verdicts = {result.check: result for result in kept.qa}
    assert not verdicts["png_decodes"].passed
    assert "does not decode" in verdicts["png_decodes"].detail
    assert kept.glance is None and stored_thumbnail(store, "chargen", kept) is None
    assert store.get_bytes("chargen/character_image/ash.png") == cut


def test_an_older_record_s_inline_thumbnail_is_still_read(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    older = generated_image(
        character="ash", take=None, thumbnail="![a](data:image/jpeg;base64,QUJD)"
    )
    assert stored_thumbnail(store, "chargen", older) == b"ABC"
    unstored = generated_image(character="ash", take=3)
    assert stored_thumbnail(store, "chargen", unstored) is None


def test_the_sweep_empties_staging_left_by_dead_readers_only(tmp_path: Path) -> None:
    import subprocess
    import sys

    from chargen_resources.gemini.ledger import Claimant, Ledger, StagingArea
    from chargen_resources.pipeline.image_stage import image_stage
    from chargen_resources.streaming import StreamingGenerateClient

    store = LocalBlobStore(tmp_path)
    ledger = Ledger(store, "chargen")
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = Claimant.this_process().model_copy(update={"pid": child.pid})
    for area, claimant in (("job1-rdead", dead), ("job1-rlive", Claimant.this_process())):
        ledger.open_staging(StagingArea(area=area, claimant=claimant))
        store.put_bytes(f"chargen/_staging/{area}/000000.png", b"half an image", "image/png")
    stage = image_stage(
        store=store,
        prefix="chargen",
        ledger=ledger,
        client=StreamingGenerateClient(adapter=None),  # type: ignore[arg-type]
        model="m",
        safety_settings=[],
        timeout_seconds=1,
        uploads=None,  # type: ignore[arg-type]
        prompts={},
    )
    stage.sweep()
    assert list(store.list_keys("chargen/_staging/")) == ["chargen/_staging/job1-rlive/000000.png"]
    assert [area.area for area in ledger.staging_areas()] == ["job1-rlive"]
    # Its folder went with its files: thousands of jobs leave no empty folders behind.
    assert sorted(p.name for p in (tmp_path / "chargen" / "_staging").iterdir()) == ["job1-rlive"]


# ---- reading a batch job's output in one pass, against the emulator over HTTP


class CountingStore:
    """A blob store that counts the images its sink opens and commits (by staging key)."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store
        self.opened: list[str] = []
        self.committed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def image_sink(self) -> ImageSink:
        sink, counter = self._store.image_sink(), self

        class Counting:
            def open(self, key: str, content_type: str) -> ImageWriter:
                counter.opened.append(key)
                writer = sink.open(key, content_type)

                class Writer:
                    write = writer.write
                    abort = writer.abort

                    def commit(self) -> StoredObject:
                        counter.committed.append(key)
                        return writer.commit()

                return Writer()

        return Counting()


@dataclass
class TempDirWatch:
    """The temporary directory, pointed at an empty folder, and every temporary file or folder
    asked of `tempfile` without a folder of its own (what a download to disk would make)."""

    folder: Path
    default_requests: list[str] = field(default_factory=list)

    def assert_untouched(self) -> None:
        assert list(self.folder.iterdir()) == [] and self.default_requests == []


@pytest.fixture
def temp_dir_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempDirWatch:
    watch = TempDirWatch(tmp_path / "system-tmp")
    watch.folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(watch.folder))
    monkeypatch.setattr(tempfile, "tempdir", str(watch.folder))
    for name in ("mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory"):
        original = getattr(tempfile, name)

        def spy(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            if kwargs.get("dir") is None:  # LocalBlobStore's own temp files sit beside the key
                watch.default_requests.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(tempfile, name, spy)
    return watch


@pytest.fixture
def emulator_settings(request: pytest.FixtureRequest) -> EmulatorSettings:
    """The module default; a test asks for others with `indirect` parametrisation."""
    return cast(EmulatorSettings, getattr(request, "param", TEST_SETTINGS))


def _carry_images(
    store: BlobStore,
    client: genai.Client,
    characters: list[str],
    watch: TempDirWatch | None = None,
    log: list[str] | None = None,
) -> StageOutcome[GeneratedImage]:
    """The image stage over a real batch job: claim, send, wait, read (watched), keep."""
    ledger = Ledger(store, "chargen")
    inputs = {
        name: compiled_prompt(character=name, text=f"{name}, a knight", image_size="1K")
        for name in characters
    }
    stage = _stage_over(store, ledger, client, inputs)

    def read_watched(job: FinishedJob, chunks: Iterator[bytes]) -> Iterator[LineResult]:
        for line in stage.read_output(job, chunks):
            if watch is not None:  # checked while the reading is under way, line by line
                watch.assert_untouched()
            yield line

    runner = BatchJobRunner(
        client=client,
        ledger=ledger,
        poll=PollPolicy(initial_interval=0.01, max_interval=0.05, timeout=60),
        log=(log if log is not None else []).append,
    )
    return carry(
        replace(stage, read_output=read_watched),
        inputs,
        runner=runner,
        interactive=False,
        regenerate=False,
    )


def _billing(emulator: RunningEmulator) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emulator.base_url}/emulator/billing") as answer:
        return cast(dict[str, Any], json.load(answer))


CHARACTERS = ["ash", "brook", "cinder"]


def test_each_batch_image_is_decoded_once_by_the_look_ahead_thread(
    genai_client: genai.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decoding for the thumbnail and the checks happens beside the keeping, in the
    look-ahead thread, once per image; `keep` uses what it found."""
    import threading

    from chargen_resources.pipeline import image_stage

    decoded_in: list[str] = []
    original = image_stage.open_image

    def recording(png: Any) -> Any:
        decoded_in.append(threading.current_thread().name)
        return original(png)

    monkeypatch.setattr(image_stage, "open_image", recording)
    store = LocalBlobStore(tmp_path / "storage")
    read_whole: list[str] = []
    get_bytes = store.get_bytes

    def recording_get_bytes(key: str) -> bytes:
        read_whole.append(key)
        return get_bytes(key)

    monkeypatch.setattr(store, "get_bytes", recording_get_bytes)
    outcome = _carry_images(store, genai_client, CHARACTERS)
    assert sorted(outcome.succeeded) == CHARACTERS
    # Decoded as it was read, and kept by a move and a take that is a store copy: no image
    # is ever read whole into memory.
    assert not [key for key in read_whole if "character_image" in key or "_staging" in key]
    assert len(decoded_in) == len(CHARACTERS)
    assert all(name.startswith("image-look") for name in decoded_in), decoded_in
    for character in CHARACTERS:
        image = outcome.succeeded[character]
        assert {qa.check for qa in image.qa if qa.passed} >= {"png_decodes", "not_blank"}
        assert stored_thumbnail(store, "chargen", image) is not None


def test_batch_reading_writes_nothing_to_the_temp_directory_on_local_storage(
    genai_client: genai.Client, tmp_path: Path, temp_dir_watch: TempDirWatch
) -> None:
    store = LocalBlobStore(tmp_path / "storage")
    outcome = _carry_images(store, genai_client, CHARACTERS, temp_dir_watch)
    assert sorted(outcome.succeeded) == CHARACTERS and not outcome.failed
    temp_dir_watch.assert_untouched()
    for name in CHARACTERS:
        assert store.get_bytes(final_image_key("chargen", name)).startswith(b"\x89PNG")


def test_batch_reading_writes_nothing_to_the_temp_directory_on_s3(
    genai_client: genai.Client,
    s3_client: S3Client,
    s3_bucket: str,
    temp_dir_watch: TempDirWatch,
) -> None:
    store = S3BlobStore(s3_client, s3_bucket)
    outcome = _carry_images(store, genai_client, CHARACTERS, temp_dir_watch)
    assert sorted(outcome.succeeded) == CHARACTERS and not outcome.failed
    temp_dir_watch.assert_untouched()
    assert all(store.exists(final_image_key("chargen", name)) for name in CHARACTERS)


CUT_ONCE = TEST_SETTINGS.model_copy(update={"cut_downloads": 1, "cut_download_fraction": 0.6})


@pytest.mark.parametrize(
    "emulator_settings",
    [CUT_ONCE, CUT_ONCE.model_copy(update={"download_ranges": True})],
    ids=["restart", "range"],
    indirect=True,
)
def test_a_download_cut_midway_stores_each_image_once_and_pays_once(
    genai_client: genai.Client,
    emulator: RunningEmulator,
    s3_client: S3Client,
    s3_bucket: str,
) -> None:
    store = CountingStore(S3BlobStore(s3_client, s3_bucket))
    log: list[str] = []
    outcome = _carry_images(cast(BlobStore, store), genai_client, CHARACTERS, log=log)
    assert sorted(outcome.succeeded) == CHARACTERS and not outcome.failed
    assert [m for m in log if "failed at byte" in m], log  # the cut happened, and was resumed
    assert len(store.committed) == len(CHARACTERS)  # one write per image, none repeated
    assert store.opened == store.committed  # not even the image cut midway began again
    billing = _billing(emulator)
    assert billing["paid"] == billing["unique"] == len(CHARACTERS) and billing["repeated"] == {}


def _write_large_output(emulator: RunningEmulator, lines: int, image_bytes: int) -> str:
    """A generated file of `lines` image lines, written piecewise into the emulator's state."""
    files = FileStore(emulator.state_dir, EmulatorClock(emulator.state_dir))
    image = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + random.Random(7).randbytes(image_bytes)
    encoded = base64.b64encode(image)
    with files.generated_writer("batch-large") as handle:
        for index in range(lines):
            handle.write(
                b'{"response": {"candidates": [{"content": {"parts": [{"inlineData": '
                b'{"mimeType": "image/png", "data": "'
            )
            handle.write(encoded)
            handle.write(b'"}}]}, "finishReason": "STOP"}]}, "key": "k%d"}\n' % index)
    files.register_generated("batch-large", "large output", "application/jsonl")
    return "files/batch-large"


def test_answers_are_looked_at_two_at_a_time_unless_a_4k_image_is_asked_for() -> None:
    # Two decoded 2K images are 24 MB of pixels; one 4K image alone is 48 MB.
    assert look_threads([]) == 2
    assert look_threads([compiled_prompt(image_size="1K"), compiled_prompt(image_size="2K")]) == 2
    assert look_threads([compiled_prompt(image_size="2K"), compiled_prompt(image_size="4K")]) == 1


def test_reading_a_large_output_keeps_memory_bounded(
    genai_client: genai.Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    """Six 11 MB lines (66 MB): the peak traced memory of the reading (download, parse,
    decode, store, and the look at each image for its checks; the in-process emulator
    included) stays far below one line."""
    image_bytes = 8 * 1024 * 1024
    output = _write_large_output(emulator, lines=6, image_bytes=image_bytes)
    store = LocalBlobStore(tmp_path / "storage")
    ledger = Ledger(store, "chargen")
    stage = _stage_over(store, ledger, genai_client, {})  # reads an output only: sends nothing
    record = JobRecord(
        display_name="large",
        stage="character_image",
        model=IMAGE_MODEL,
        claimant=Claimant.this_process(),
        job_name="batches/large",
        output_file=output,
    )
    runner = BatchJobRunner(client=genai_client, ledger=ledger, log=lambda _: None)
    tracemalloc.start()
    try:
        sizes = [
            line.images[0].content_length
            for line in stage.read_output(
                FinishedJob(record, {}, owned=False),
                runner.output_chunks(FinishedJob(record, {}, owned=False)),
            )
        ]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sizes == [image_bytes + 16] * 6
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_fourteen_large_references_stream_inline_in_bounded_memory(tmp_path: Path) -> None:
    """An interactive request with 14 references of 4 MB each (75 MB of base64 in the body):
    the sketches are read from the store and encoded slice by slice as the body is sent."""
    import os
    import tracemalloc

    from chargen_resources.characters.prompt_compiler import Reference
    from chargen_resources.pipeline.image_stage import reference_parts
    from chargen_resources.streaming import (
        InlineDataPart,
        RequestContent,
        TextPart,
        build_request_body,
    )

    store = LocalBlobStore(tmp_path)
    references = []
    for number in range(14):
        key = f"chargen/source_image/ash/{number:02d}.png"
        store.put_bytes(key, os.urandom(4 * 1024 * 1024), "image/png")
        references.append(
            Reference(name=f"{number:02d}.png", sha256=f"{number}", key=key, size_bytes=4 << 20)
        )
    prompt = compiled_prompt(references=tuple(references))
    tracemalloc.start()
    try:
        parts: list[TextPart | InlineDataPart] = [TextPart(prompt.text)]
        parts.extend(reference_parts(store, prompt))
        body = build_request_body([RequestContent("user", parts)])
        sent = sum(len(piece) for piece in body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == len(body) > 14 * 4 * 1024 * 1024 * 4 // 3
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while sending {sent / 1e6:.0f} MB"


def test_more_references_than_the_model_takes_are_refused_per_character() -> None:
    from chargen_resources.characters.prompt_compiler import Reference
    from chargen_resources.gemini.models import max_reference_images
    from chargen_resources.pipeline.image_stage import refusals

    def prompt(count: int) -> CompiledPrompt:
        return compiled_prompt(
            references=tuple(
                Reference(name=f"{n}.png", sha256=f"{n}", key=f"k{n}") for n in range(count)
            )
        )

    limit = max_reference_images(IMAGE_MODEL)
    refused = refusals({"ok": prompt(limit), "many": prompt(limit + 1)}, IMAGE_MODEL)
    assert list(refused) == ["many"]
    assert f"{limit + 1} reference sketches" in refused["many"]
    assert f"takes at most {limit} images per request" in refused["many"]
    assert "reference_images" in refused["many"]


def test_the_casts_style_images_count_toward_the_limit_and_the_advice_says_so() -> None:
    from chargen_resources.gemini.models import max_reference_images
    from chargen_resources.pipeline.image_stage import too_many_references

    limit = max_reference_images(IMAGE_MODEL)
    assert too_many_references(limit - 2, 2, IMAGE_MODEL) is None
    told = too_many_references(limit - 1, 2, IMAGE_MODEL)
    assert told is not None
    assert told.startswith(f"{limit - 1} reference sketches and the cast's 2 style images")
    assert f"choose up to {limit - 2} sketches" in told and "fewer images in _style/" in told


def _stage_over(
    store: BlobStore, ledger: Ledger, client: genai.Client, prompts: dict[str, CompiledPrompt]
) -> PaidStage[CompiledPrompt, GeneratedImage]:
    """The image stage as a run builds it, against the emulator behind `client`."""
    return image_stage(
        store=store,
        prefix="chargen",
        ledger=ledger,
        client=StreamingGenerateClient(GoogleGenAIApiAdapter(client)),
        model=IMAGE_MODEL,
        safety_settings=[],
        timeout_seconds=60,
        uploads=UploadCache(client, ledger),
        prompts=prompts,
    )


def test_a_stored_image_is_kept_only_as_the_same_prompts_from_a_backend_that_stands(
    tmp_path: Path,
) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("k.png", b"png")
    prompt = compiled_prompt(prompt_hash="h")
    drawn = generated_image(prompt_hash="h", model="m", backend="emulator")
    made = generated_image(prompt_hash="h", model="m", backend="google")
    assert still_valid(drawn, prompt, "m", store, "emulator")
    assert not still_valid(drawn, prompt, "m", store, "google")  # a key set since: asked again
    assert still_valid(made, prompt, "m", store, "google")
    assert still_valid(made, prompt, "m", store, "emulator")
    assert not still_valid(made, compiled_prompt(prompt_hash="other"), "m", store, "google")
    assert not still_valid(made, prompt, "other-model", store, "google")
