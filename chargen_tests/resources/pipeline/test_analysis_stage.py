"""The analysis stage against the emulator: real uploads, real jobs and calls, real pixels."""

import hashlib
import io
from pathlib import Path

from google import genai
from PIL import Image

from chargen_resources.characters.artifacts import AnalysisRecord, SourceImages, StoredImage
from chargen_resources.gemini.batch_jobs import BatchJobRunner, PollPolicy
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline.analysis_stage import _keep_analysis, analysis_stage
from chargen_resources.pipeline.batch_results import LineResult
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.paid_stage import carry
from chargen_resources.storage.blob_store import LocalBlobStore
from chargen_resources.streaming import GoogleGenAIApiAdapter, StreamingGenerateClient


def _source(store: LocalBlobStore, key: str, colour: tuple[int, int, int]) -> SourceImages:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    data = buffer.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    store.put_bytes(f"src/{key}.png", data, "image/png")
    image = StoredImage(
        key=f"src/{key}.png",
        source_name="a.png",
        sha256=sha,
        width=64,
        height=64,
        source_format="PNG",
    )
    return SourceImages(character=key, source_name=key, images=[image], content_hash=sha)


def _analyse(
    client: genai.Client, store: LocalBlobStore, sources: dict[str, SourceImages], interactive: bool
) -> StageOutcome[AnalysisRecord]:
    ledger = Ledger(store, "chargen")
    runner = BatchJobRunner(client, ledger, poll=PollPolicy(0.01, 0.05, 30), log=lambda _: None)
    stage = analysis_stage(
        sources,
        store=store,
        uploads=UploadCache(client, ledger),
        client=StreamingGenerateClient(GoogleGenAIApiAdapter(client)),
        model="gemini-2.5-flash",
        timeout_seconds=30,
    )
    outcome = carry(stage, sources, runner=runner, interactive=interactive, regenerate=False)
    outcome.settle()
    return outcome


def test_red_sketches_give_a_red_palette_and_the_sketches_stay_for_the_image_job(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path)
    sources = {
        "red": _source(store, "red", (220, 10, 10)),
        "night": _source(store, "night", (10, 10, 25)),
    }
    outcome = _analyse(genai_client, store, sources, interactive=False)
    assert set(outcome.succeeded) == {"red", "night"} and not outcome.failed
    red = outcome.succeeded["red"]
    assert any("red" in c.name or "crimson" in c.name for c in red.analysis.colour_palette)
    assert red.source_hash == sources["red"].images_hash and red.usage.prompt_tokens > 0
    assert red.mode == "batch" and red.batch_job
    # The input file is deleted once settled; the two sketches stay on the service for the
    # image job, which sends them as references (reusing these uploads) and deletes them.
    remaining = [f.name or "" for f in genai_client.files.list()]
    sketches = [name for name in remaining if not name.startswith("files/batch-")]
    assert len(sketches) == 2, remaining
    assert Ledger(store, "chargen").live_jobs() == []  # the job ended; nothing holds them


def test_interactive_analysis_sends_the_sketches_inline_and_uploads_nothing(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path)
    outcome = _analyse(
        genai_client, store, {"red": _source(store, "red", (220, 10, 10))}, interactive=True
    )
    red = outcome.succeeded["red"]
    assert red.mode == "interactive" and red.batch_job is None
    assert any("red" in c.name or "crimson" in c.name for c in red.analysis.colour_palette)
    assert list(genai_client.files.list()) == [] and list(genai_client.batches.list()) == []


def test_an_answer_that_breaks_the_schema_fails_the_character_with_the_field() -> None:
    outcome: StageOutcome[AnalysisRecord] = StageOutcome("character_analysis")
    line = LineResult(index=0, key="ash", text='{"archetype": "knight"}', finish_reason="STOP")
    _keep_analysis(outcome, line, "ash", "gemini-2.5-flash", "batches/x", "hash")
    assert "ash" in outcome.failed and "visual_traits" in outcome.failed["ash"]
