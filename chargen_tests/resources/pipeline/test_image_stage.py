import io
from pathlib import Path

from PIL import Image

from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.pipeline.batch_results import LineResult
from chargen_resources.pipeline.image_stage import final_image_key, keep_final_image
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.storage.blob_store import LocalBlobStore
from chargen_resources.streaming.types import ImageBlock
from chargen_tests.factories import compiled_prompt


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
