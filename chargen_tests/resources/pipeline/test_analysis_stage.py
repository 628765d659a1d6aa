"""The analysis stage against the emulator: real uploads, a real batch job, real pixels."""

import io
from pathlib import Path

from google import genai
from PIL import Image

from chargen_resources.characters.artifacts import AnalysisRecord, SourceImages, StoredImage
from chargen_resources.gemini.batch_jobs import BatchJobRunner, PollPolicy
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline.analysis_stage import _record_line, analyse
from chargen_resources.pipeline.batch_results import LineResult
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.storage.blob_store import LocalBlobStore


def _source(store: LocalBlobStore, key: str, colour: tuple[int, int, int]) -> SourceImages:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, format="PNG")
    data = buffer.getvalue()
    import hashlib

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


def test_red_sketches_give_a_red_palette_and_uploads_are_cleaned(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path)
    ledger = Ledger(store, "chargen")
    runner = BatchJobRunner(
        genai_client, ledger, poll=PollPolicy(0.01, 0.05, 30), log=lambda _: None
    )
    sources = {
        "red": _source(store, "red", (220, 10, 10)),
        "night": _source(store, "night", (10, 10, 25)),
    }
    outcome = analyse(
        sources,
        store=store,
        runner=runner,
        uploads=UploadCache(genai_client, ledger),
        model="gemini-2.5-flash",
        delete_uploads=True,
    )
    assert set(outcome.succeeded) == {"red", "night"} and not outcome.failed
    red = outcome.succeeded["red"]
    assert any("red" in c.name or "crimson" in c.name for c in red.analysis.colour_palette)
    assert red.source_hash == sources["red"].images_hash and red.usage.prompt_tokens > 0
    assert list(genai_client.files.list()) == [] or all(
        (f.name or "").startswith("files/batch-") for f in genai_client.files.list()
    )  # inputs and images deleted after success; only the generated output remains


def test_an_answer_that_breaks_the_schema_fails_the_character_with_the_field() -> None:
    outcome: StageOutcome[AnalysisRecord] = StageOutcome("character_analysis")
    line = LineResult(index=0, key="ash", text='{"archetype": "knight"}', finish_reason="STOP")
    _record_line(outcome, "ash", line, "gemini-2.5-flash", "batches/x", "hash")
    assert "ash" in outcome.failed and "visual_traits" in outcome.failed["ash"]
