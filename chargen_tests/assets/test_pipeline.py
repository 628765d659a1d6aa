"""The four character assets through Dagster's own execution APIs, against the real emulator."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver
from PIL import Image

from chargen_assets.cast_style import cast_style
from chargen_assets.partitions import CHARACTERS
from chargen_assets.pipeline import character_pipeline
from chargen_assets.resources import GeminiBatchResource
from chargen_assets.sensors import PIPELINE_KEYS, rebuild_stale_characters, stale_partitions
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    DeadLetter,
    GeneratedImage,
    SourceImages,
)
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.pipeline import source_stage
from chargen_resources.storage.blob_store import LocalBlobStore
from chargen_resources.storage.layout import beside_results
from chargen_tests.fixtures.platform import (
    COLOURS,
    Platform,
    draw_sketch,
    png_header_claiming,
    step_failure,
)


def test_five_characters_in_one_run_use_one_batch_job_per_stage(platform: Platform) -> None:
    result = platform.run(list(COLOURS))
    assert result.success
    jobs = platform.jobs()
    assert len(jobs) == 2
    assert sum("analysis" in j for j in jobs) == 1 and sum("image" in j for j in jobs) == 1
    for asset in ("source_image", "character_analysis", "character_prompt", "character_image"):
        assert platform.materialized(asset) == set(COLOURS)
    image = platform.storage().read_artifact("character_image", "ash", GeneratedImage)
    png = platform.storage_root / image.image_key
    with Image.open(png) as opened:
        assert opened.format == "PNG" and opened.size == (image.width, image.height)
    assert image.mode == "batch" and image.batch_job and image.usage.output_tokens == 1120
    assert image.backend == "emulator"  # its drawings say so, wherever they are shown
    record = platform.instance.get_latest_data_version_record(
        dg.AssetKey("character_image"), partition_key="ash"
    )
    assert record is not None and record.asset_materialization is not None
    assert record.asset_materialization.partition == "ash"
    metadata = record.asset_materialization.metadata
    assert "larger_preview" not in metadata  # kept in the record, not in every event
    # The first entry, and short enough for Dagster to show it inline (no dialog).
    glance = str(metadata["image_preview"].value)
    assert next(iter(metadata)) == "image_preview"
    assert glance.startswith("![ash](data:image/webp;base64,") and len(glance) < 1000
    assert image.glance == glance  # made once, kept with the record: a kept image costs nothing
    assert metadata["width"].value == image.width and metadata["height"].value == image.height


def test_the_emulators_work_says_backend_emulator_in_metadata_catalog_and_gallery(
    platform: Platform,
) -> None:
    """Drawings must never pass for Google's images, wherever a person looks at them."""
    from chargen_resources.characters.gallery import GALLERY_PAGE

    result = platform.run(list(COLOURS))
    assert result.success
    backends = {
        (m.asset_key.to_user_string(), m.metadata["backend"].value)
        for m in result.asset_materializations_for_node("character_pipeline")
        if "backend" in m.metadata
    }
    assert backends == {("character_analysis", "emulator"), ("character_image", "emulator")}
    storage = platform.storage()
    table = platform.catalog()
    assert table["backend"].to_list() == ["emulator"] * len(COLOURS)
    page = storage.store().get_bytes(beside_results(storage.prefix, GALLERY_PAGE)).decode()
    assert page.count("backend: emulator") == len(COLOURS)


def test_a_blocked_character_does_not_stop_the_others_and_a_rerun_sends_only_it(
    platform: Platform,
) -> None:
    (platform.inbox / "ember" / "character.yaml").write_text("notes: a gory executioner\n")
    first = platform.run(list(COLOURS))
    assert not first.success
    failure = next(e for e in first.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_failure_data is not None
    message = failure.step_failure_data.error.message if failure.step_failure_data.error else ""
    assert "ember" in message and "IMAGE_SAFETY" in message
    assert platform.materialized("character_image") == set(COLOURS) - {"ember"}
    assert platform.materialized("character_prompt") == set(COLOURS)
    dead = platform.storage().read_dead_letter("character_image", "ember", DeadLetter)
    assert dead is not None and "IMAGE_SAFETY" in dead.reason
    assert len(platform.jobs()) == 2

    (platform.inbox / "ember" / "character.yaml").write_text("notes: a stern executioner\n")
    second = platform.run(list(COLOURS))  # the whole cast again, as a user might
    assert second.success
    jobs = platform.batches()
    assert len(jobs) == 3  # analyses were all still valid; one new image job...
    newest = jobs[-1]
    assert "image" in newest["metadata"]["displayName"]
    assert int(newest["metadata"]["batchStats"]["requestCount"]) == 1  # ...for ember alone
    assert platform.materialized("character_image") == set(COLOURS)
    # Its dead letter went with its success: the catalog no longer counts it failed.
    assert platform.storage().read_dead_letter("character_image", "ember", DeadLetter) is None
    assert "ember" not in platform.storage().dead_lettered()


def test_the_monthly_budget_is_settled_to_what_the_run_paid_refusals_included(
    platform: Platform,
) -> None:
    from chargen_resources.gemini.budget import MonthlyBudget

    platform.set_gemini(monthly_budget_usd=50.0)
    (platform.inbox / "ember" / "character.yaml").write_text("notes: a gory executioner\n")
    result = platform.run(list(COLOURS))
    assert not result.success  # ember's image was refused; the others were made
    run = platform.instance.get_run_by_id(result.run_id)
    assert run is not None
    storage = platform.storage()
    spent = MonthlyBudget(storage.store(), storage.prefix, 50.0).spent()
    # The estimate was reserved before sending; settled, the month holds what was paid: five
    # analyses, four images, and ember's refused image request at its estimated price.
    assert run.tags["chargen/paid_requests"] == "10"
    assert f"{spent:.3f}" == run.tags["chargen/paid_usd"]
    results = [
        *(storage.read_artifact("character_analysis", key, AnalysisRecord) for key in COLOURS),
        *(
            storage.read_artifact("character_image", key, GeneratedImage)
            for key in set(COLOURS) - {"ember"}
        ),
    ]
    refused = spent - sum(result.estimated_cost_usd or 0.0 for result in results)
    assert 0.05 < refused < 0.07  # a 1K image at batch price (half of $0.134), estimated


def test_a_guarded_run_to_a_model_with_no_recorded_price_sends_nothing(
    platform: Platform,
) -> None:
    platform.set_gemini(image_model="gemini-9-image", max_run_cost_usd=100.0)
    result = platform.run(list(COLOURS))
    assert not result.success
    message = step_failure(result)
    assert "no list price is recorded for gemini-9-image" in message
    assert "cost ceiling (CHARGEN_MAX_RUN_COST_USD)" in message
    assert platform.jobs() == [] and list(platform.client.files.list()) == []


def test_a_character_with_more_sketches_than_the_image_model_takes_pays_for_nothing(
    platform: Platform,
) -> None:
    from chargen_resources.gemini.models import max_reference_images

    gemini = platform.resources["gemini"]
    assert isinstance(gemini, GeminiBatchResource)
    too_many = max_reference_images(gemini.image_model) + 1
    for n in range(too_many):
        draw_sketch(platform.inbox / "crowd" / f"view-{n:02d}.png", (10 * n, 60, 90))
    keys = [*COLOURS, "crowd"]
    result = platform.run(keys)
    assert not result.success
    assert platform.materialized("character_image") == set(COLOURS)
    dead = platform.storage().read_dead_letter("character_analysis", "crowd", DeadLetter)
    assert dead is not None and f"{too_many} reference sketches" in dead.reason
    (analysis_job,) = [j for j in platform.batches() if "analysis" in j["metadata"]["displayName"]]
    assert int(analysis_job["metadata"]["batchStats"]["requestCount"]) == len(COLOURS)
    # A run that makes no image has no reason to refuse it: its analysis is made.
    only_analysis = platform.run(["crowd"], selection=["source_image", "character_analysis"])
    assert only_analysis.success and "crowd" in platform.materialized("character_analysis")


def test_a_reference_images_name_the_folder_lacks_pays_for_nothing(platform: Platform) -> None:
    draw_sketch(platform.inbox / "typo" / "front.png", (200, 60, 90))
    (platform.inbox / "typo" / "character.yaml").write_text("reference_images: [frnt.png]\n")
    result = platform.run([*COLOURS, "typo"], config={"mode": "batch"})
    assert not result.success
    assert platform.materialized("character_image") == set(COLOURS)
    dead = platform.storage().read_dead_letter("character_analysis", "typo", DeadLetter)
    assert dead is not None and "reference_images names frnt.png" in dead.reason
    (analysis_job,) = [j for j in platform.batches() if "analysis" in j["metadata"]["displayName"]]
    assert int(analysis_job["metadata"]["batchStats"]["requestCount"]) == len(COLOURS)


def test_an_interactive_request_that_never_connected_is_said_plainly_and_not_counted_paid(
    platform: Platform,
) -> None:
    platform.set_gemini(base_url="http://127.0.0.1:9")  # nothing listens there
    result = platform.run(["ash"])  # one character launched by hand: interactive
    assert not result.success
    dead = platform.storage().read_dead_letter("character_analysis", "ash", DeadLetter)
    assert dead is not None
    assert dead.reason.startswith("the interactive request failed: Gemini could not be reached")
    assert "Check the network" in dead.reason
    run = platform.instance.get_run_by_id(result.run_id)
    assert run is not None and run.tags["chargen/paid_requests"] == "0"


def test_a_stage_that_stops_for_everyone_leaves_each_character_the_cause(
    platform: Platform,
) -> None:
    platform.set_gemini(base_url="http://127.0.0.1:9")  # nothing listens there
    result = platform.run(["ash", "ember"], config={"mode": "batch"})
    assert not result.success
    assert step_failure(result).startswith(
        "character_analysis stopped for 2 characters (ash, ember): Gemini could not be reached"
    )
    for character in ("ash", "ember"):  # the catalog and gallery show this cause, not an old one
        dead = platform.storage().read_dead_letter("character_analysis", character, DeadLetter)
        assert dead is not None
        assert dead.reason.startswith("character_analysis stopped: Gemini could not be reached")


def test_a_store_that_refuses_the_run_before_any_stage_is_told_in_words(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only store (an IAM policy without PutObject, say) meets the run's own checks
    before any stage: the run says so, naming the characters, with no traceback."""

    def refused(self: LocalBlobStore, key: str, data: bytes, content_type: str = "") -> bool:
        raise PermissionError(13, "Permission denied", key)

    monkeypatch.setattr(LocalBlobStore, "create_new", refused)
    result = platform.run(["ash", "ember"], config={"mode": "batch"})
    assert not result.success
    told = step_failure(result)
    assert told.startswith("the run stopped for 2 characters (ash, ember): ")
    assert "Permission denied" in told and "check its permissions" in told


def test_a_stage_that_stops_while_recording_leaves_the_characters_it_made_alone(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_artifact = ChargenStorage.store_artifact

    def full_disk_at_ember(self: ChargenStorage, asset: Any, partition: Any, value: Any) -> Any:
        if partition == "ember" and "character_image" in str(asset):
            raise OSError(28, "No space left on device")
        return store_artifact(self, asset, partition, value)

    monkeypatch.setattr(ChargenStorage, "store_artifact", full_disk_at_ember)
    result = platform.run(list(COLOURS), config={"mode": "batch"})
    assert not result.success
    assert step_failure(result).startswith("character_image stopped for 5 characters")
    assert "ash" in platform.materialized("character_image")
    # Made, so not failed: no dead letter says it stopped.
    assert platform.storage().read_dead_letter("character_image", "ash", DeadLetter) is None


def test_a_jobs_files_are_deleted_when_it_ends_unless_the_resource_keeps_them(
    platform: Platform,
) -> None:
    def uploaded() -> list[str]:  # not the jobs' output files: the service keeps those
        listed = platform.client.files.list()
        return [f.display_name or "" for f in listed if f.source and f.source.name == "UPLOADED"]

    assert platform.run(["ash", "brook"], config={"mode": "batch"}).success
    assert uploaded() == []  # input files and sketch uploads: gone
    platform.set_gemini(delete_uploads_after_success=False)
    assert platform.run(["cinder", "dune"], config={"mode": "batch"}).success
    kept = uploaded()
    assert sum(name.endswith(".jsonl") for name in kept) == 2  # both jobs' input files
    assert any("cinder" in name for name in kept) and any("dune" in name for name in kept)


def test_every_run_logs_its_estimate_right_after_naming_its_characters(
    platform: Platform,
) -> None:
    result = platform.run(list(COLOURS), config={"mode": "batch"})
    assert result.success
    said = [
        entry.user_message
        for entry in platform.instance.all_logs(result.run_id)
        if entry.dagster_event is None and entry.step_key == "character_pipeline"
    ]
    named = next(i for i, line in enumerate(said) if line.startswith("5 characters (batch): "))
    assert said[named + 1].startswith(
        "estimate for 5 characters: send character_analysis 5, character_image 5 (10 requests), "
        "keep 0 results, 0 already in flight; about $"
    )


def test_a_run_does_not_log_that_its_checks_were_not_yielded(platform: Platform) -> None:
    """Dagster's notice for check outputs without an `AssetCheckResult` is dropped: every
    character's verdicts were yielded (as evaluations); a notice naming anything else stays."""
    result = platform.run(list(COLOURS))
    assert result.success
    said = [entry.user_message for entry in platform.instance.all_logs(result.run_id)]
    assert not [line for line in said if "did not yield" in line]
    assert {e.check_name for e in result.get_asset_check_evaluations()} == {"ready"}


def test_each_result_points_at_the_input_events_it_was_made_from(platform: Platform) -> None:
    """Per character, Dagster's input-event tags name that character's own upstream
    materializations (what the Events tab shows as its lineage), not a run-wide cursor."""
    result = platform.run(list(COLOURS))
    assert result.success
    instance = platform.instance

    def newest(asset: str) -> dict[str, int]:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
        return {r.partition_key or "": r.storage_id for r in reversed(records)}

    def pointers(asset: str, read: str) -> dict[str, str]:
        """Each character's `asset` materialization's tag naming the event of `read` it used."""
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=100).records
        return {
            r.partition_key or "": r.asset_materialization.tags[
                f"dagster/input_event_pointer/{read}"
            ]
            for r in records
            if r.asset_materialization and r.asset_materialization.tags
        }

    for asset, read in [
        ("character_image", "character_prompt"),
        ("character_prompt", "character_analysis"),
        ("character_prompt", "source_image"),
        ("character_analysis", "source_image"),
    ]:
        expected = {key: str(storage_id) for key, storage_id in newest(read).items()}
        assert pointers(asset, read) == expected, (asset, read)
    # No style guide was read: its pointer says so, as Dagster writes a missing input's.
    assert set(pointers("character_image", "cast_style").values()) == {"NULL"}


def test_only_the_notice_about_check_outputs_is_dropped() -> None:
    import logging

    from chargen_assets.pipeline import _VerdictsWereYielded

    keep = _VerdictsWereYielded(["character_image_made", "character_image_qa"]).filter

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("dagster", logging.INFO, "", 0, message, None, None)

    notice = "op 'character_pipeline' did not yield or return expected outputs"
    assert not keep(record(f"{notice} {{'character_image_qa', 'character_image_made'}}."))
    assert keep(record(f"{notice} {{'character_image_qa', 'character_image'}}."))
    assert keep(record("5 characters (batch): red, green"))


def test_bad_inputs_fail_their_character_only_and_leave_the_inbox_untouched(
    platform: Platform,
) -> None:
    (platform.inbox / "broken").mkdir()
    (platform.inbox / "broken" / "front.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (platform.inbox / "empty").mkdir()
    (platform.inbox / "empty" / "front.png").write_bytes(b"")
    (platform.inbox / "bad-sheet").mkdir()
    draw_sketch(platform.inbox / "bad-sheet" / "front.png", (10, 200, 10))
    (platform.inbox / "bad-sheet" / "character.yaml").write_text("aspect_ratio: 7:3\n")
    (platform.inbox / "giant").mkdir()
    (platform.inbox / "giant" / "front.png").write_bytes(png_header_claiming(100_000, 100_000))
    (platform.inbox / "flicker").mkdir()
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(
        platform.inbox / "flicker" / "walk.webp", save_all=True, append_images=frames[1:]
    )
    (platform.inbox / "gif-only").mkdir()
    frames[0].save(platform.inbox / "gif-only" / "old.gif")
    (platform.inbox / "notes.txt").write_text("not a character")
    (platform.inbox / ".hidden").mkdir()
    draw_sketch(platform.inbox / ".hidden" / "front.png", (1, 2, 3))
    draw_sketch(platform.inbox / "Ünïcode Hero" / "front.png", (120, 0, 120))
    before = {p: p.stat().st_mtime_ns for p in platform.inbox.rglob("*")}
    bad = ["broken", "empty", "bad-sheet", "giant", "flicker", "gif-only"]
    listed = {c.source_name: c.key for c in platform.resources_inbox().source().list_characters()}
    assert ".hidden" not in listed and "notes.txt" not in listed
    unicode_key = listed["Ünïcode Hero"]
    assert unicode_key.startswith("unicode-hero-")
    keys = [*COLOURS, *bad, unicode_key]
    result = platform.run(keys)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data
    assert data is not None and data.user_failure_data is not None
    message = str(data.user_failure_data.metadata["failures"].value)
    for key in bad:
        assert f"| {key} |" in message
        assert f"character '{key}'" not in message  # its row names it
    assert "aspect_ratio" in message and "animated" in message and "pixels" in message
    assert platform.materialized("character_image") == {*COLOURS, unicode_key}
    assert {p: p.stat().st_mtime_ns for p in platform.inbox.rglob("*")} == before


def test_oversize_and_linked_out_files_fail_their_character_only(
    platform: Platform, tmp_path: Path
) -> None:
    from chargen_resources.inbox import sources

    (platform.inbox / "vast").mkdir()
    (platform.inbox / "vast" / "front.png").write_bytes(
        b"\x89PNG" + b"\x00" * sources.MAX_READ_BYTES
    )
    secret = tmp_path / "elsewhere" / "secret.png"
    draw_sketch(secret, (1, 1, 1))
    (platform.inbox / "thief").mkdir()
    (platform.inbox / "thief" / "front.png").symlink_to(secret)
    (platform.inbox / "portal").symlink_to(secret.parent, target_is_directory=True)
    listed = {c.source_name: c.key for c in platform.resources_inbox().source().list_characters()}
    keys = [*COLOURS, "vast", "thief", listed["portal"]]
    result = platform.run(keys)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data
    assert data is not None and data.user_failure_data is not None
    table = str(data.user_failure_data.metadata["failures"].value)
    assert "| vast | source_image | vast/front.png: " in table  # named once, in its row
    assert "character 'vast'" not in table
    assert "MiB" in table
    assert "| thief | source_image |" in table and "outside the inbox" in table
    assert f"| {listed['portal']} | source_image |" in table
    assert platform.materialized("character_image") == set(COLOURS)
    stored = platform.storage_root / "chargen" / "source_image"
    assert not (stored / "thief").exists() and not (stored / listed["portal"]).exists()


def _step_failure_message(result: dg.ExecuteInProcessResult) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    data = failure.step_failure_data
    assert data is not None and data.error is not None
    return data.error.message


def test_unreachable_storage_stops_the_run_with_the_characters_and_what_to_check(
    platform: Platform,
) -> None:
    from dagster_aws.s3 import S3Resource

    platform.resources["storage"] = ChargenStorage(
        backend="s3",
        s3_bucket="nowhere",
        s3=S3Resource(endpoint_url="http://127.0.0.1:9", max_attempts=1),
    )
    message = _step_failure_message(platform.run(["ash", "brook"]))
    assert "stopped for 2 characters (ash, brook)" in message
    assert "CHARGEN_S3_ENDPOINT_URL" in message and "Traceback" not in message


def test_unreachable_gemini_stops_the_stage_naming_its_characters(platform: Platform) -> None:
    platform.resources["gemini"] = GeminiBatchResource(
        base_url="http://127.0.0.1:9", retry_attempts=1, poll_interval_seconds=0.01
    )
    message = _step_failure_message(platform.run(["ash", "brook"]))
    assert "character_analysis stopped for 2 characters (ash, brook)" in message
    assert "Gemini could not be reached" in message
    assert platform.materialized("source_image") == {"ash", "brook"}  # the earlier stage stands


def test_one_changed_sketch_makes_only_that_character_stale(platform: Platform) -> None:
    keys = list(COLOURS)
    assert platform.run(keys).success
    draw_sketch(platform.inbox / "brook" / "front.png", (0, 255, 0))
    assert platform.run(keys, selection=["source_image"]).success
    resolver = get_stale_status_resolver(platform.instance, [character_pipeline])
    stale = {
        key
        for key in keys
        if resolver.get_status(dg.AssetKey("character_analysis"), key) == StaleStatus.STALE
    }
    assert stale == {"brook"}


def test_a_code_version_change_marks_every_character_for_rebuild(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = list(COLOURS)
    assert platform.run(keys).success
    assert stale_partitions(platform.instance, keys) == {}
    from chargen_assets import sensors

    prompt = dg.AssetKey("character_prompt")
    monkeypatch.setitem(sensors.CODE_VERSIONS, prompt, "v2-new-template")
    stale = stale_partitions(platform.instance, keys)
    assert stale == dict.fromkeys(keys, prompt)
    with dg.build_sensor_context(
        instance=platform.instance, resources=platform.resources
    ) as context:
        result = rebuild_stale_characters(context)
    assert isinstance(result, dg.SensorResult) and result.run_requests
    (request,) = result.run_requests
    assert request.asset_selection == PIPELINE_KEYS[2:]
    # The preview shows the price: the prompts compile again (free), the images are kept
    # until the prompt text really changes, so this rebuild would send nothing.
    assert request.tags["chargen/estimate"].startswith("$0.00: estimate for 5 characters")
    assert request.partition_key_range == dg.PartitionKeyRange(keys[0], keys[-1])
    # A new style guide over the same characters is a new rebuild: a new run key, not the
    # earlier one Dagster would skip.
    platform.instance.report_runless_asset_event(
        dg.AssetMaterialization(cast_style.key, tags={"dagster/data_version": "a-new-style"})
    )
    with dg.build_sensor_context(
        instance=platform.instance, resources=platform.resources
    ) as context:
        again = rebuild_stale_characters(context)
    assert isinstance(again, dg.SensorResult) and again.run_requests
    assert again.run_requests[0].run_key != request.run_key


def _made_then_stale(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every character made, then the prompt's code version moved on: all of them stale."""
    keys = list(COLOURS)
    assert platform.run(keys).success
    from chargen_assets import sensors

    monkeypatch.setitem(sensors.CODE_VERSIONS, dg.AssetKey("character_prompt"), "v2")
    return keys


def test_a_rebuild_that_cannot_be_estimated_says_why_on_its_run_request(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    _made_then_stale(platform, monkeypatch)
    from chargen_assets import sensors

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", "chargen/character_image/ash.json")

    monkeypatch.setattr(sensors, "estimate", unreadable)
    with dg.build_sensor_context(
        instance=platform.instance, resources=platform.resources
    ) as context:
        result = rebuild_stale_characters(context)
    assert isinstance(result, dg.SensorResult) and result.run_requests
    told = result.run_requests[0].tags["chargen/estimate"]
    assert told.startswith("not estimated: a file could not be written or read")
    assert "check its permissions" in told


def test_single_character_runs_are_interactive_from_analysis_to_image(platform: Platform) -> None:
    result = platform.run(["dune"])
    assert result.success
    image = platform.storage().read_artifact("character_image", "dune", GeneratedImage)
    assert image.mode == "interactive" and image.batch_job is None
    analysis = platform.storage().read_artifact("character_analysis", "dune", AnalysisRecord)
    assert analysis.mode == "interactive" and analysis.batch_job is None
    assert platform.jobs() == []  # no batch job at all: seconds, not a batch wait
    assert os.path.getsize(platform.storage_root / image.image_key) == image.bytes


def test_a_one_character_backfill_waits_for_batch_prices(platform: Platform) -> None:
    platform.add(["dune"])
    result = dg.materialize(
        [character_pipeline],
        instance=platform.instance,
        resources=platform.resources,
        partition_key="dune",
        tags={"dagster/backfill": "b1"},
    )
    assert result.success
    image = platform.storage().read_artifact("character_image", "dune", GeneratedImage)
    assert image.mode == "batch" and image.batch_job
    assert len(platform.jobs()) == 2


def test_a_run_reads_and_normalises_each_sketch_once(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run-start estimate and the source stage share one normalisation: a studio's scans
    # take a while each to decode and shrink.
    normalised: list[tuple[str, str]] = []
    normalise = source_stage.normalise_image

    def counted(data: bytes, **where: Any) -> Any:
        normalised.append((where["character"], where["name"]))
        return normalise(data, **where)

    monkeypatch.setattr(source_stage, "normalise_image", counted)
    assert platform.run(list(COLOURS)).success
    assert sorted(normalised) == [(key, "front.png") for key in sorted(COLOURS)]
    assert platform.materialized("source_image") == set(COLOURS)
    # What the estimate normalised is what the stage stored and the analysis was sent.
    source = platform.storage().read_artifact("source_image", "ash", SourceImages)
    assert all((platform.storage_root / image.key).is_file() for image in source.images)


def test_every_image_gets_its_qa_checks_per_character(platform: Platform) -> None:
    result = platform.run(list(COLOURS))
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    by_check: dict[str, set[str]] = {}
    for evaluation in evaluations:
        assert evaluation.passed, evaluation
        by_check.setdefault(evaluation.check_name, set()).add(evaluation.partition or "")
    assert by_check == {"ready": set(COLOURS)}
    qa = evaluations[0]
    findings = {name: str(value.value) for name, value in qa.metadata.items()}
    assert findings.pop("detail") == "every test passed"
    assert set(findings) == {"png_decodes", "size_as_asked", "not_blank", "final_not_thought"}
    assert all(finding.startswith("passed: ") for finding in findings.values()), findings


def test_a_failing_qa_check_marks_that_character_only_in_checks_metadata_and_catalog(
    platform: Platform,
) -> None:
    import polars as pl

    keys = list(COLOURS)
    assert platform.run(keys).success
    storage = platform.storage()
    _fail_not_blank(storage, "ash")

    again = platform.run(keys)  # warn, the default: kept, and marked
    assert again.success
    failed = [e for e in again.get_asset_check_evaluations() if not e.passed]
    assert [(e.check_name, e.partition) for e in failed] == [("ready", "ash")]
    assert failed[0].description == "not_blank: grey-level spread 0.0"
    assert failed[0].metadata["not_blank"].value == "FAILED: grey-level spread 0.0"
    assert str(failed[0].metadata["png_decodes"].value).startswith("passed: PNG ")
    qa_metadata = {
        m.partition: m.metadata["qa"].value
        for m in again.asset_materializations_for_node("character_pipeline")
        if m.asset_key == dg.AssetKey("character_image")
    }
    assert qa_metadata.pop("ash") == "not_blank: grey-level spread 0.0"
    assert set(qa_metadata.values()) == {"passed"}
    table = platform.catalog()
    marked = table.filter(pl.col("qa_failed").is_not_null())
    assert marked.select("character", "qa_failed").rows() == [("ash", "not_blank")]


def test_dead_lettering_qa_failures_re_sends_only_the_failing_character(
    platform: Platform,
) -> None:
    keys = list(COLOURS)
    assert platform.run(keys).success
    storage = platform.storage()
    _fail_not_blank(storage, "ash")
    assert platform.run(keys).success  # warn (the default): kept as it is
    assert len(platform.jobs()) == 2
    again = platform.run(keys, config={"qa_failures": "dead_letter"})
    assert again.success
    jobs = platform.batches()
    assert len(jobs) == 3, [
        (j["metadata"]["displayName"], j["metadata"]["batchStats"]) for j in jobs
    ]
    newest = jobs[-1]
    assert "image" in newest["metadata"]["displayName"]
    assert int(newest["metadata"]["batchStats"]["requestCount"]) == 1  # ash alone
    fresh = storage.read_artifact("character_image", "ash", GeneratedImage)
    assert fresh.qa and all(result.passed for result in fresh.qa)


def test_running_the_same_characters_again_pays_for_nothing(platform: Platform) -> None:
    keys = list(COLOURS)
    first = platform.run(keys)
    assert first.success
    paid = platform.instance.get_run_by_id(first.run_id)
    assert paid is not None and float(paid.tags["chargen/paid_usd"]) > 0.3
    assert paid.tags["chargen/paid_requests"] == "10"
    uploads_after_first = len(list(platform.client.files.list()))
    second = platform.run(keys)
    assert second.success
    kept = platform.instance.get_run_by_id(second.run_id)
    assert kept is not None and kept.tags["chargen/paid_usd"] == "0.000"
    assert kept.tags["chargen/kept_results"] == "10"
    assert len(platform.jobs()) == 2  # every stored result still matched: nothing was sent
    assert len(list(platform.client.files.list())) <= uploads_after_first  # no images re-uploaded
    assert platform.materialized("character_image") == set(keys)


def test_once_a_real_backend_answers_the_emulators_drawings_are_all_sent_again(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A studio that tried chargen on the emulator and then set its key: no drawing is kept as
    finished art, read back from, or attached to, the emulator's jobs; each request is paid
    again, once, and what the real backend made is kept after."""
    from chargen_assets.resources import GeminiBatchResource

    keys = list(COLOURS)
    assert platform.run(keys).success  # the emulator's drawings
    # The emulator still answers (nothing here reaches Google), as a real backend would.
    monkeypatch.setattr(GeminiBatchResource, "backend", lambda self: "google")
    second = platform.run(keys)
    assert second.success
    run = platform.instance.get_run_by_id(second.run_id)
    assert run is not None and run.tags["chargen/paid_requests"] == "10"
    assert run.tags["chargen/kept_results"] == "0"
    assert len(platform.jobs()) == 4  # a new job per stage, none attached to
    backends = {
        (m.asset_key.to_user_string(), m.metadata["backend"].value)
        for m in second.asset_materializations_for_node("character_pipeline")
        if "backend" in m.metadata
    }
    assert backends == {("character_analysis", "google"), ("character_image", "google")}
    third = platform.run(keys)
    kept = platform.instance.get_run_by_id(third.run_id)
    assert kept is not None and kept.tags["chargen/paid_requests"] == "0"
    assert kept.tags["chargen/kept_results"] == "10"


def test_regenerate_sends_everything_again(platform: Platform) -> None:
    keys = list(COLOURS)
    assert platform.run(keys).success
    assert platform.run(keys, config={"regenerate": True}).success
    assert len(platform.jobs()) == 4  # a new analysis job and a new image job


def test_a_line_error_is_sent_again_on_the_next_run_not_replayed(platform: Platform) -> None:
    (platform.inbox / "ember" / "character.yaml").write_text("notes: '[emulator:line-error]'\n")
    keys = list(COLOURS)
    assert not platform.run(keys).success
    assert len(platform.jobs()) == 2
    assert not platform.run(keys).success  # the emulator fails it again, deterministically...
    jobs = platform.batches()
    assert len(jobs) == 3  # ...but it was really sent again, alone
    assert int(jobs[-1]["metadata"]["batchStats"]["requestCount"]) == 1


def _sensor_wants(platform: Platform) -> set[str]:
    """Characters the inbox sensor would run now, from an empty cursor (a fresh `make dev`)."""
    from chargen_assets.sensors import inbox_sensor

    with dg.build_sensor_context(instance=platform.instance, resources=platform.resources) as ctx:
        result = inbox_sensor(ctx)
    assert isinstance(result, dg.SensorResult)
    wanted: set[str] = set()
    ordered = platform.instance.get_dynamic_partitions(CHARACTERS)
    for run in result.run_requests or []:
        assert run.partition_key_range is not None
        first = ordered.index(run.partition_key_range.start)
        last = ordered.index(run.partition_key_range.end)
        wanted.update(ordered[first : last + 1])
    return wanted


def test_the_sensor_does_not_pay_again_for_a_refusal_until_something_changes(
    platform: Platform,
) -> None:
    (platform.inbox / "ember" / "character.yaml").write_text("notes: a gory executioner\n")
    (platform.inbox / "ash" / "character.yaml").write_text("notes: '[emulator:line-error]'\n")
    assert not platform.run(list(COLOURS)).success
    ember = platform.storage().read_dead_letter("character_image", "ember", DeadLetter)
    ash = platform.storage().read_dead_letter("character_image", "ash", DeadLetter)
    assert ember is not None and ember.content and ember.inputs and ember.code
    assert ash is not None and not ash.content  # an error line: worth asking again
    assert "ember" not in _sensor_wants(platform) and "ash" in _sensor_wants(platform)
    # Its files copied again, the same bytes with new times (a sync, a touch): no change.
    sheet = platform.inbox / "ember" / "character.yaml"
    sheet.write_text("notes: a gory executioner\n")
    os.utime(sheet, (1_700_000_000, 1_700_000_000))
    assert "ember" not in _sensor_wants(platform)
    sheet.write_text("notes: a stern executioner\n")
    assert "ember" in _sensor_wants(platform)


def test_an_analysis_refused_for_its_sketches_is_held_back_whatever_character_yaml_says(
    platform: Platform,
) -> None:
    """The analysis sends only the sketches and the name: editing notes cannot change its
    answer, so it is not paid for again until a sketch changes, and the advice says so."""
    draw_sketch(platform.inbox / "gore-test" / "front.png", (150, 20, 20))
    keys = [*COLOURS, "gore-test"]
    assert not platform.run(keys, config={"mode": "batch"}).success
    dead = platform.storage().read_dead_letter("character_analysis", "gore-test", DeadLetter)
    assert dead is not None and dead.content
    assert "change the sketches or rename the folder" in dead.reason
    assert "character.yaml notes" not in dead.reason
    (platform.inbox / "gore-test" / "character.yaml").write_text("notes: a gentle baker\n")
    assert "gore-test" not in _sensor_wants(platform)
    draw_sketch(platform.inbox / "gore-test" / "front.png", (20, 150, 20))
    assert "gore-test" in _sensor_wants(platform)


def test_each_materialization_says_what_this_run_paid_for_it(platform: Platform) -> None:
    """A result kept or read back shows its original cost, mode and job: `paid_this_run_usd`
    says it was free here (the Plots tab shows what each run really paid)."""

    def paid_for(asset: str, partition: str) -> float:
        records = platform.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]),
            limit=1,
        ).records
        materialization = records[0].asset_materialization
        assert materialization is not None
        value = materialization.metadata["paid_this_run_usd"].value
        assert isinstance(value, float)
        return value

    assert platform.run(["ash", "brook"]).success
    image = platform.storage().read_artifact("character_image", "ash", GeneratedImage)
    assert paid_for("character_image", "ash") == round(image.estimated_cost_usd or 0.0, 4) > 0
    assert paid_for("character_analysis", "ash") > 0
    assert platform.run(["ash", "brook"]).success  # nothing changed: every result kept
    assert paid_for("character_image", "ash") == 0.0
    assert paid_for("character_analysis", "brook") == 0.0


def test_a_failed_character_carries_its_reason_as_an_observation(platform: Platform) -> None:
    (platform.inbox / "ash" / "character.yaml").write_text("notes: nsfw\n")
    assert not platform.run(list(COLOURS)).success
    records = platform.instance.fetch_observations(dg.AssetKey("character_image"), limit=5).records
    (record,) = [r for r in records if r.partition_key == "ash"]
    observation = record.asset_observation
    assert observation is not None
    assert "IMAGE_SAFETY" in str(observation.metadata["failed"].value)


def test_a_subset_reads_only_what_its_stages_consume(platform: Platform) -> None:
    keys = list(COLOURS)
    assert platform.run(keys).success
    prompt_runs = platform.run(
        keys, selection=["character_prompt"], config={"style_override": "oil painting"}
    )
    assert prompt_runs.success and len(platform.jobs()) == 2  # compiling prompts calls no API
    prompt = platform.storage().read_artifact("character_prompt", "ash", CompiledPrompt)
    assert prompt.style == "oil painting"
    image_only = platform.run(keys, selection=["character_image"], config={"mode": "batch"})
    assert image_only.success
    jobs = platform.jobs()
    assert len(jobs) == 3 and sum("image" in job for job in jobs) == 2  # new prompts: one new job


def test_the_catalog_is_requested_after_a_run_with_a_failed_character(platform: Platform) -> None:
    from chargen_assets.catalog import character_catalog

    defs = dg.Definitions(
        assets=[character_pipeline, character_catalog], resources=platform.resources
    )
    first = dg.evaluate_automation_conditions(defs=defs, instance=platform.instance)
    (platform.inbox / "ember" / "character.yaml").write_text("notes: gory\n")
    assert not platform.run(["ash", "ember"]).success
    after = dg.evaluate_automation_conditions(
        defs=defs, instance=platform.instance, cursor=first.cursor
    )
    assert after.get_num_requested(dg.AssetKey("character_catalog")) == 1


def test_dagster_itself_sees_every_prompt_and_image_stale_after_a_template_change(
    platform: Platform,
) -> None:
    keys = list(COLOURS)
    assert platform.run(keys).success
    from chargen_assets.character_image import code_version_for

    prompt, image = dg.AssetKey("character_prompt"), dg.AssetKey("character_image")
    # What editing the template does to the code versions (both derive from its fingerprint).
    new_versions = {prompt: "v2-edited", image: code_version_for("v2-edited")}
    edited = character_pipeline.map_asset_specs(
        lambda spec: (
            spec.replace_attributes(code_version=new_versions[spec.key])
            if spec.key in new_versions
            else spec
        )
    )
    before = get_stale_status_resolver(platform.instance, [cast_style, character_pipeline])
    after = get_stale_status_resolver(platform.instance, [cast_style, edited])
    for asset in (prompt, image):
        assert {before.get_status(asset, key) for key in keys} == {StaleStatus.FRESH}
        assert {after.get_status(asset, key) for key in keys} == {StaleStatus.STALE}
        causes = after.get_stale_causes(asset, keys[0])
        assert any("code version" in cause.reason for cause in causes)


def test_a_stream_cut_mid_image_fails_the_character_and_stores_nothing(platform: Platform) -> None:
    (platform.inbox / "dune" / "character.yaml").write_text("notes: '[emulator:stream-cut]'\n")
    result = platform.run(["dune"], config={"mode": "interactive"})
    assert not result.success
    dead = platform.storage().read_dead_letter("character_image", "dune", DeadLetter)
    assert dead is not None
    assert not (platform.storage_root / "chargen" / "character_image" / "dune.png").exists()
    staging = platform.storage_root / "chargen" / "_staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))


def test_a_stage_stores_its_results_several_at_once(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each record's write waits until all five are being written: one at a time would break
    the barrier (and fail the step)."""
    together = threading.Barrier(len(COLOURS), timeout=30)
    put_bytes = LocalBlobStore.put_bytes

    def meeting_put(self: LocalBlobStore, key: str, data: bytes, content_type: str = "") -> None:
        if key.startswith("chargen/source_image/") and key.endswith(".json"):
            together.wait()
        put_bytes(self, key, data, content_type)

    monkeypatch.setattr(LocalBlobStore, "put_bytes", meeting_put)
    assert platform.run(list(COLOURS), selection=["source_image"]).success
    assert platform.materialized("source_image") == set(COLOURS)


def _fail_not_blank(storage: ChargenStorage, character: str) -> None:
    """The character's stored image, as if its not_blank check had failed."""
    from chargen_resources.characters.image_qa import QaResult

    image = storage.read_artifact("character_image", character, GeneratedImage)
    blank = QaResult(check="not_blank", passed=False, detail="grey-level spread 0.0")
    qa = [blank if result.check == "not_blank" else result for result in image.qa]
    storage.store_artifact("character_image", character, image.model_copy(update={"qa": qa}))


def test_a_stale_character_whose_folder_is_gone_is_named_not_rebuilt(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = _made_then_stale(platform, monkeypatch)
    gone = keys[1]
    shutil.rmtree(platform.inbox / gone)
    with dg.build_sensor_context(
        instance=platform.instance, resources=platform.resources
    ) as context:
        result = rebuild_stale_characters(context)
    assert isinstance(result, dg.SensorResult) and result.run_requests is not None
    # The others are rebuilt around it, and the preview prices only what can be sent.
    ranges = [request.partition_key_range for request in result.run_requests]
    assert ranges == [
        dg.PartitionKeyRange(keys[0], keys[0]),
        dg.PartitionKeyRange(keys[2], keys[-1]),
    ]
    assert [r.tags["chargen/estimate"].split(": ")[1] for r in result.run_requests] == [
        "estimate for 1 character",
        f"estimate for {len(keys) - 2} characters",
    ]
    for key in keys:
        if key != keys[0]:
            shutil.rmtree(platform.inbox / key, ignore_errors=True)
    with dg.build_sensor_context(
        instance=platform.instance, resources=platform.resources
    ) as context:
        only_first = rebuild_stale_characters(context)
    assert isinstance(only_first, dg.SensorResult) and only_first.run_requests is not None
    assert len(only_first.run_requests) == 1


def test_a_run_that_failed_of_its_characters_is_not_retried_one_whose_worker_died_is(
    platform: Platform, tmp_path: Path
) -> None:
    """Under an instance that retries every failed run (Dagster's default once `run_retries` is
    on, and what a Helm chart gives that does not render `retryOnAssetOrOpFailure`), Dagster's
    own retry rule retries a pipeline run whose worker died, not one whose characters failed,
    however it was launched (here by hand, with none of the sensors' settings)."""
    from dagster._core.events import RunFailureReason
    from dagster._core.execution.retries import auto_reexecution_should_retry_run

    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text(
        "run_retries:\n  enabled: true\n  max_retries: 5\n"
    )
    (platform.inbox / "ember" / "character.yaml").write_text("notes: a gory executioner\n")
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        assert instance.run_retries_retry_on_asset_or_op_failure  # retries any failure
        assert not platform.run(list(COLOURS), instance=instance).success  # ember was refused
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert not auto_reexecution_should_retry_run(instance, run, RunFailureReason.STEP_FAILURE)
        for died in (RunFailureReason.UNEXPECTED_TERMINATION, RunFailureReason.RUN_WORKER_RESTART):
            assert auto_reexecution_should_retry_run(instance, run, died)
