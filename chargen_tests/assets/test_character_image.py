import json
import urllib.request
from pathlib import Path
from typing import Any, cast

import dagster as dg
from PIL import Image

from chargen_assets.character_image import metadata
from chargen_resources.characters.artifacts import DeadLetter, GeneratedImage, TokenUsage
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.requests import REFERENCE_NOTES
from chargen_resources.emulator import RunningEmulator
from chargen_tests.factories import generated_image
from chargen_tests.fixtures.platform import COLOURS, Platform


def test_metadata_reports_size_tokens_cost_and_the_stored_preview() -> None:
    image = generated_image(
        character="ash",
        bytes=1234,
        model="gemini-3-pro-image-preview",
        mode="interactive",
        batch_job=None,
        usage=TokenUsage(prompt_tokens=5, output_tokens=1120),
        estimated_cost_usd=0.13,
        thumbnail="![ash](data:image/jpeg;base64,AAAA)",
    )
    values = metadata(image, "file:///k.json")
    assert values["width"] == 768 and values["output_tokens"] == 1120
    assert values["batch_job"] == "(interactive, full price)"
    # The stored 160-pixel preview stays in the record (the gallery's); the event carries the
    # small inline one only: a run holds every event of its step in memory.
    assert "larger_preview" not in values and "image_preview" not in values  # AAAA: no image


# ---- sketch-conditioned generation, takes, feedback and locked (through Dagster, emulator)


def _admin(emulator: RunningEmulator, what: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{emulator.base_url}/emulator/{what}", timeout=10) as answer:
        return cast(dict[str, Any], json.load(answer))


def _image_job_lines(emulator: RunningEmulator) -> list[dict[str, Any]]:
    """The request lines of every image job, as the service received them."""
    lines = []
    for snapshot in sorted((emulator.state_dir / "batches").glob("*.input.jsonl")):
        for text in snapshot.read_text().splitlines():
            line = json.loads(text)
            if line["request"]["generationConfig"].get("responseModalities") == ["IMAGE"]:
                lines.append(line)
    return lines


def _share_near(png: Path, colour: tuple[int, int, int]) -> float:
    with Image.open(png) as image:
        data = image.convert("RGB").resize((96, 172)).tobytes()
    pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
    near = [p for p in pixels if sum(abs(a - b) for a, b in zip(p, colour, strict=True)) < 90]
    return len(near) / len(pixels)


def test_a_batch_image_job_sends_the_sketches_as_files_uploaded_once(
    platform: Platform, emulator: RunningEmulator
) -> None:
    assert platform.run(["ash", "brook"]).success
    lines = _image_job_lines(emulator)
    assert sorted(line["key"] for line in lines) == ["ash", "brook"]
    sketch_uploads = [
        u for u in _admin(emulator, "uploads")["uploads"] if u["displayName"].endswith(".png")
    ]
    # One upload per sketch, shared by the analysis job and the image job.
    assert len(sketch_uploads) == 2
    assert len({u["sha256"] for u in sketch_uploads}) == 2
    uploaded = {u["name"] for u in sketch_uploads}
    for line in lines:
        parts = line["request"]["contents"][0]["parts"]
        assert parts[1]["text"] == REFERENCE_NOTES["sketch"]
        (reference,) = [p["fileData"] for p in parts if "fileData" in p]
        assert reference["fileUri"].rsplit("/", 2)[-2:][0] == "files"
        assert "files/" + reference["fileUri"].rsplit("/files/", 1)[1] in uploaded
        assert len(json.dumps(line)) < 4000  # the input file stays small: no inline images
    # The image job deleted the sketches when it ended; only the jobs' outputs remain.
    left = [f.name or "" for f in platform.client.files.list()]
    assert all(name.startswith("files/batch-") for name in left), left
    record = platform.instance.get_latest_data_version_record(
        dg.AssetKey("character_image"), partition_key="ash"
    )
    assert record is not None and record.asset_materialization is not None
    metadata = record.asset_materialization.metadata
    assert metadata["reference_count"].value == 1 and metadata["references"].value == "front.png"
    image = platform.storage().read_artifact("character_image", "ash", GeneratedImage)
    assert image.references == ["front.png"] and image.take == 1


def test_an_image_made_with_its_sketch_follows_it_and_every_take_is_kept(
    platform: Platform,
) -> None:
    ash_red = COLOURS["ash"]
    assert platform.run(["ash"], config={"mode": "batch"}).success
    storage = platform.storage_root / "chargen" / "character_image"
    with_sketch = _share_near(storage / "ash.png", ash_red)
    (platform.inbox / "ash" / "character.yaml").write_text("reference_images: none\n")
    assert platform.run(["ash"], config={"mode": "batch"}).success  # a new prompt: a new take
    text_only = _share_near(storage / "ash.png", ash_red)
    assert with_sketch > 2 * text_only + 0.02, (with_sketch, text_only)
    takes = storage / "ash" / "takes"
    assert sorted(p.name for p in takes.iterdir()) == [
        *("01.jpg", "01.json", "01.png"),
        *("02.jpg", "02.json", "02.png"),
    ]
    assert (takes / "02.png").read_bytes() == (storage / "ash.png").read_bytes()
    second = GeneratedImage.model_validate_json((takes / "02.json").read_text())
    assert second.take == 2 and second.references == [] and second.prompt_hash
    first = GeneratedImage.model_validate_json((takes / "01.json").read_text())
    assert first.references == ["front.png"] and first.estimated_cost_usd


def test_interactive_sends_the_sketches_inline(
    platform: Platform, emulator: RunningEmulator
) -> None:
    assert platform.run(["ash"], config={"mode": "interactive"}).success
    image = platform.storage().read_artifact("character_image", "ash", GeneratedImage)
    assert image.mode == "interactive" and image.references == ["front.png"]
    sketch_uploads = [
        u for u in _admin(emulator, "uploads")["uploads"] if u["displayName"].endswith(".png")
    ]
    assert sketch_uploads == []  # nothing uploaded: the sketch went inside the request
    with Image.open(platform.storage_root / "chargen" / "character_image" / "ash.png") as made:
        assert made.size == (image.width, image.height)
    assert (
        _share_near(
            platform.storage_root / "chargen" / "character_image" / "ash.png", COLOURS["ash"]
        )
        > 0.05
    )


def test_feedback_sends_one_character_again_and_a_locked_one_never(
    platform: Platform, emulator: RunningEmulator
) -> None:
    keys = ["ash", "brook"]
    assert platform.run(keys).success
    paid_before = _admin(emulator, "billing")["paid"]
    (platform.inbox / "ash" / "character.yaml").write_text("feedback: make the cloak torn\n")
    assert platform.run(keys).success
    assert _admin(emulator, "billing")["paid"] == paid_before + 1  # ash's image, nothing else
    prompt = platform.storage().read_artifact("character_prompt", "ash", CompiledPrompt)
    assert "make the cloak torn" in prompt.text
    paid_before = _admin(emulator, "billing")["paid"]

    (platform.inbox / "ash" / "character.yaml").write_text(
        "feedback: now make it green\nlocked: true\n"
    )
    approved = (platform.storage_root / "chargen" / "character_image" / "ash.png").read_bytes()
    result = platform.run(keys, config={"regenerate": True, "mode": "batch"})
    assert result.success
    billing = _admin(emulator, "billing")
    # brook regenerated; ash's approved take kept, whatever changed and despite `regenerate`.
    image = platform.storage().read_artifact("character_image", "ash", GeneratedImage)
    assert (
        platform.storage_root / "chargen" / "character_image" / "ash.png"
    ).read_bytes() == approved
    assert image.take == 2
    # Its record keeps the prompt the approved take was made from, not the new feedback.
    kept_prompt = platform.storage().read_artifact("character_prompt", "ash", CompiledPrompt)
    assert kept_prompt.locked and kept_prompt.prompt_hash == image.prompt_hash
    assert "make the cloak torn" in kept_prompt.text and "green" not in kept_prompt.text
    sent_images = [line["key"] for line in _image_job_lines(emulator)]
    assert sent_images.count("ash") == 2 and sent_images.count("brook") == 2
    # brook's analysis and image; ash's analysis is not paid again either (it would change
    # nothing: the approved take keeps its prompt).
    assert billing["paid"] == paid_before + 2


def test_a_locked_character_without_an_image_is_refused_by_name_before_it_is_paid_for(
    platform: Platform, emulator: RunningEmulator
) -> None:
    (platform.inbox / "cinder" / "character.yaml").write_text("locked: true\n")
    result = platform.run(["cinder", "dune"])
    assert not result.success
    # Refused at the first paid stage: its analysis would only feed an image never made.
    dead = platform.storage().read_dead_letter("character_analysis", "cinder", DeadLetter)
    assert dead is not None and "locked: true, but no image of it is stored yet" in dead.reason
    assert platform.materialized("character_analysis") == {"dune"}
    assert platform.materialized("character_image") == {"dune"}
    assert _admin(emulator, "billing")["paid"] == 2  # dune's analysis and image
