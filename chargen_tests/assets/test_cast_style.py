"""cast_style: the inbox's `_style/` folder, upstream of every character's prompt and image."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._utils.test.data_versions import get_stale_status_resolver
from PIL import Image

from chargen_assets.cast_style import cast_style
from chargen_assets.pipeline import character_pipeline
from chargen_assets.sensors import inbox_sensor, stale_partitions
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.requests import REFERENCE_NOTES
from chargen_resources.emulator import RunningEmulator
from chargen_resources.inbox.style_spec import STYLE_FOLDER
from chargen_tests.fixtures.platform import COLOURS, Platform
from chargen_tests.fixtures.project import REPO, Project

STYLE_YAML = "art_direction: painterly, warm rim light\npalette: [deep teal, bone white]\n"


def _add_style(inbox: Path, text: str = STYLE_YAML) -> None:
    folder = inbox / "_style"
    folder.mkdir(exist_ok=True)
    (folder / "style.yaml").write_text(text)
    Image.new("RGB", (64, 96), (20, 110, 120)).save(folder / "mood.png")


def _read_style(platform: Platform) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [cast_style],
        instance=platform.instance,
        resources={"storage": platform.storage(), "inbox": platform.resources_inbox()},
        raise_on_error=False,
    )


def _stale(platform: Platform, keys: list[str]) -> dict[str, set[StaleStatus]]:
    resolver = get_stale_status_resolver(platform.instance, [cast_style, character_pipeline])
    return {
        asset: {resolver.get_status(dg.AssetKey(asset), key) for key in keys}
        for asset in ("character_analysis", "character_prompt", "character_image")
    }


def test_a_style_guide_makes_every_character_stale_and_only_then(platform: Platform) -> None:
    keys = sorted(COLOURS)
    assert _read_style(platform).success  # no _style/: an empty style
    assert platform.run(keys).success
    prompt = platform.storage().read_artifact("character_prompt", "ash", CompiledPrompt)
    assert "Cast art direction" not in prompt.text and len(prompt.references) == 1
    assert _read_style(platform).success  # unchanged: nothing becomes stale
    assert _stale(platform, keys)["character_prompt"] == {StaleStatus.FRESH}
    assert stale_partitions(platform.instance, keys) == {}

    _add_style(platform.inbox)
    assert _read_style(platform).success
    stale = _stale(platform, keys)
    assert stale["character_prompt"] == stale["character_image"] == {StaleStatus.STALE}
    assert stale["character_analysis"] == {StaleStatus.FRESH}  # the sketches did not change
    assert stale_partitions(platform.instance, keys) == dict.fromkeys(
        keys, dg.AssetKey("character_prompt")
    )


def test_the_style_reaches_every_prompt_and_image_request(
    platform: Platform, emulator: RunningEmulator
) -> None:
    _add_style(platform.inbox, STYLE_YAML + 'aspect_ratio: "1:1"\n')
    assert _read_style(platform).success
    assert platform.run(["ash", "brook"]).success
    prompt = platform.storage().read_artifact("character_prompt", "ash", CompiledPrompt)
    assert "Cast art direction: painterly, warm rim light." in prompt.text
    assert "Keep to the cast palette: deep teal, bone white." in prompt.text
    assert prompt.aspect_ratio == "1:1"  # the style's default (character.yaml says nothing)
    assert [(r.name, r.role) for r in prompt.references] == [
        ("front.png", "sketch"),
        ("_style/mood.png", "style"),
    ]
    for snapshot in (emulator.state_dir / "batches").glob("*.input.jsonl"):
        for text in snapshot.read_text().splitlines():
            line = json.loads(text)
            parts = line["request"]["contents"][0]["parts"]
            if line["request"]["generationConfig"].get("responseModalities") != ["IMAGE"]:
                continue
            notes = [p["text"] for p in parts if "text" in p]
            assert notes[1:] == [REFERENCE_NOTES["sketch"], REFERENCE_NOTES["style"]]
            assert sum("fileData" in p for p in parts) == 2


def test_a_bad_style_yaml_names_the_file_and_the_field(platform: Platform) -> None:
    _add_style(platform.inbox, "art_direction: fine\npalette: {teal: 1}\n")
    result = _read_style(platform)
    assert not result.success
    failure = result.failure_data_for_node("cast_style")
    assert failure is not None and failure.user_failure_data is not None
    text = failure.user_failure_data.description or ""
    assert "_style/style.yaml: field 'palette'" in text and "Nothing changed" in text


def test_a_file_left_out_of_the_style_folder_is_said_as_for_a_character(
    platform: Platform,
) -> None:
    _add_style(platform.inbox)
    (platform.inbox / "_style" / "front.psd").write_bytes(b"8BPS")
    result = _read_style(platform)
    assert result.success
    (materialization,) = result.asset_materializations_for_node("cast_style")
    skipped = materialization.metadata["skipped_files"]
    assert isinstance(skipped, dg.MarkdownMetadataValue)
    assert "_style/front.psd: PSD images are not supported" in (skipped.md_str or "")
    assert any(  # and in the run's log, as a warning
        "cast_style: _style/front.psd: PSD images are not supported" in (record.user_message or "")
        for record in platform.instance.all_logs(result.run_id)
    )


def test_the_style_folder_is_not_a_character(platform: Platform) -> None:
    _add_style(platform.inbox)
    listed = [c.key for c in platform.resources_inbox().source().list_characters()]
    assert listed == sorted(COLOURS)


def test_the_inbox_sensor_reads_a_new_or_changed_style_guide(platform: Platform) -> None:
    """Through Dagster's own tick evaluation, which checks every run request against the
    sensor's asset selection (a request for cast_style outside it failed every tick)."""
    instance = platform.instance
    resources = {"inbox": platform.resources_inbox(), "storage": platform.storage()}
    defs = dg.Definitions(
        assets=[cast_style, character_pipeline],
        sensors=[inbox_sensor],
        resources=platform.resources,
    )

    def tick(cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
        with dg.build_sensor_context(
            instance=instance, definitions=defs, cursor=cursor, resources=resources
        ) as context:
            data = inbox_sensor.evaluate_tick(context)
        assert data.run_requests is not None
        return list(data.run_requests), data.cursor

    first, cursor = tick(None)
    assert first and all(dg.AssetKey("cast_style") not in (r.asset_selection or []) for r in first)
    platform.add(sorted(COLOURS))  # what the daemon does with the tick's partition requests
    _add_style(platform.inbox)
    (run,), cursor = tick(cursor)
    assert run.asset_selection == [dg.AssetKey("cast_style")]
    assert _read_style(platform).success
    third, _ = tick(cursor)
    assert third == []


def test_a_changed_style_is_read_in_a_run_of_its_own_and_the_characters_follow(
    platform: Platform,
) -> None:
    """The sensor's requests are valid for the definitions: first `cast_style` alone, then, once
    it has been read, the characters that waited for it, through the whole pipeline."""
    resources = {"inbox": platform.resources_inbox(), "storage": platform.storage()}
    defs = dg.Definitions(
        assets=[cast_style, character_pipeline],
        sensors=[inbox_sensor],
        resources=platform.resources,
    )
    _add_style(platform.inbox)

    def tick(cursor: str | None) -> SensorExecutionData:
        with dg.build_sensor_context(
            instance=platform.instance, definitions=defs, resources=resources, cursor=cursor
        ) as context:
            return inbox_sensor.evaluate_tick(context)

    first = tick(None)
    for added in first.dynamic_partitions_requests or []:
        platform.add(list(added.partition_keys))
    (style_run,) = first.run_requests or []
    assert style_run.asset_selection == [dg.AssetKey("cast_style")]
    assert _read_style(platform).success
    (characters,) = tick(first.cursor).run_requests or []
    assert characters.asset_selection is not None
    assert dg.AssetKey("cast_style") not in characters.asset_selection
    assert dg.AssetKey("character_image") in characters.asset_selection


@pytest.mark.parametrize("content", ["art_direction: x\n"])
def test_a_style_folder_never_read_stops_the_prompt_stage_saying_so(
    platform: Platform, content: str
) -> None:
    _add_style(platform.inbox, content)
    result = platform.run(["ash"])
    assert not result.success
    failure = result.failure_data_for_node("character_pipeline")
    assert failure is not None and failure.user_failure_data is not None
    assert "cast_style has not been materialized" in (failure.user_failure_data.description or "")


def test_a_style_folder_added_after_the_guide_was_read_stops_the_run_before_paying(
    platform: Platform,
) -> None:
    """The demo read the inbox without a _style/ (an empty guide); the folder added since is not
    silently ignored by a run that does not read it: nothing is paid, and it says what to do."""
    assert _read_style(platform).success  # no folder yet
    _add_style(platform.inbox)
    result = platform.run(["ash"])
    assert not result.success
    failure = result.failure_data_for_node("character_pipeline")
    assert failure is not None and failure.user_failure_data is not None
    told = failure.user_failure_data.description or ""
    assert "has a _style/ folder now" in told and "materialize cast_style first" in told
    assert not platform.jobs()  # stopped at the estimate: nothing was sent
    assert _read_style(platform).success
    assert platform.run(["ash"]).success


def test_the_readmes_commands_read_the_style_then_the_characters(project: Project) -> None:
    """README "From the command line": with an inbox `_style/`, cast_style is materialized by
    itself first (a partition range takes only the characters' assets), then the range."""
    project.add_characters(["ash", "birch"])
    shutil.copytree(REPO / "samples" / "style", project.inbox / STYLE_FOLDER)
    style = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            *("asset", "materialize", "-m", "chargen_assets.definitions"),
            *("--select", "cast_style"),
        ],
        cwd=REPO,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert style.returncode == 0, style.stderr[-3000:]
    assert project.materialize("ash", "birch") == 0, project.log()
    storage = ChargenStorage(local_root=str(project.storage))
    prompts = storage.read_artifacts("character_prompt", ["ash", "birch"], CompiledPrompt)
    assert all("painterly fantasy" in prompt.text for prompt in prompts.values())
