"""The inbox sensor through build_sensor_context, against a real folder."""

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from PIL import Image

from chargen_assets import cast_style, sensors
from chargen_assets.partitions import CHARACTERS
from chargen_assets.resources import InboxResource
from chargen_assets.sensors import PIPELINE_KEYS, inbox_sensor
from chargen_assets.storage import ChargenStorage
from chargen_resources.inbox.sensor_plan import TickPlan, plan_tick


def _sketch(path: Path, colour: tuple[int, int, int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), colour).save(path)


def _tick(instance: dg.DagsterInstance, inbox: Path, cursor: str | None) -> dg.SensorResult:
    resources = {
        "inbox": InboxResource(local_root=str(inbox)),
        "storage": ChargenStorage(local_root=str(inbox.parent / "storage")),
    }
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context:
        result = inbox_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_new_characters_become_partitions_and_one_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for name in ("alpha", "beta", "gamma"):
        _sketch(inbox / name / "a.png", (10, 20, 30))
    with dg.DagsterInstance.ephemeral() as instance:
        result = _tick(instance, inbox, None)
        (added,) = result.dynamic_partitions_requests or []
        assert isinstance(added, dg.AddDynamicPartitionsRequest)
        assert list(added.partition_keys) == ["alpha", "beta", "gamma"]
        (run,) = result.run_requests or []
        assert run.asset_selection == PIPELINE_KEYS
        assert run.partition_key_range == dg.PartitionKeyRange("alpha", "gamma")
        assert run.run_config["ops"]["character_pipeline"]["config"]["mode"] == "batch"

        # The daemon applies partition requests; do it by hand here.
        instance.add_dynamic_partitions(CHARACTERS, list(added.partition_keys))
        quiet = _tick(instance, inbox, result.cursor)
        assert not quiet.run_requests and not quiet.dynamic_partitions_requests

        _sketch(inbox / "beta" / "a.png", (200, 0, 0))  # changed content
        _sketch(inbox / "delta" / "a.png", (0, 200, 0))  # new character
        changed = _tick(instance, inbox, quiet.cursor)
        keys = {
            (r.partition_key_range.start, r.partition_key_range.end)
            for r in changed.run_requests or []
            if r.partition_key_range
        }
        assert keys == {("beta", "beta"), ("delta", "delta")}
        run_keys = {r.run_key for r in changed.run_requests or []}
        assert len(run_keys) == 2 and None not in run_keys


def test_a_large_inbox_is_split_into_runs_of_at_most_the_run_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sensors, "MAX_CHARACTERS_PER_RUN", 2)
    inbox = tmp_path / "inbox"
    for name in ("alpha", "beta", "gamma", "delta", "omega"):
        _sketch(inbox / name / "a.png", (10, 20, 30))
    with dg.DagsterInstance.ephemeral() as instance:
        runs = _tick(instance, inbox, None).run_requests or []
    assert [(r.tags[sensors.RANGE_START], r.tags[sensors.RANGE_END]) for r in runs] == [
        ("alpha", "beta"),
        ("delta", "gamma"),
        ("omega", "omega"),
    ]
    assert [r.tags["chargen/characters"] for r in runs] == ["2", "2", "1"]
    assert len({r.run_key for r in runs}) == 3


def test_the_inbox_is_never_modified(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _sketch(inbox / "alpha" / "a.png", (1, 2, 3))
    (inbox / "alpha" / "notes.txt").write_text("hello")
    before = {
        p: (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"") for p in inbox.rglob("*")
    }
    with dg.DagsterInstance.ephemeral() as instance:
        _tick(instance, inbox, None)
    after = {
        p: (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else b"") for p in inbox.rglob("*")
    }
    assert after == before


def test_a_quiet_tick_over_an_unchanged_inbox_plans_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    for name in ("alpha", "beta"):
        _sketch(inbox / name / "a.png", (10, 20, 30))
    then = time.time_ns() - 60 * 1_000_000_000  # untouched for a minute: its scan is remembered
    for path in [inbox, *inbox.rglob("*")]:
        os.utime(path, ns=(then, then))
    planned: list[int] = []

    def counted(*args: Any) -> TickPlan:
        planned.append(1)
        return plan_tick(*args)

    monkeypatch.setattr(sensors, "plan_tick", counted)
    with dg.DagsterInstance.ephemeral() as instance:
        first = _tick(instance, inbox, None)
        instance.add_dynamic_partitions(CHARACTERS, ["alpha", "beta"])
        quiet = _tick(instance, inbox, first.cursor)
        again = _tick(instance, inbox, quiet.cursor)
        # The first tick's scan and the cursor it left (stored, its partitions added): nothing
        # to plan on the ticks after it.
        assert len(planned) == 1
        assert not quiet.run_requests and quiet.cursor == first.cursor
        assert not again.run_requests and again.cursor == quiet.cursor
        assert again.skip_reason is not None
        assert again.skip_reason.skip_message == "2 characters, none new or changed"
        lost = _tick(instance, inbox, None)  # a cursor Dagster did not store: planned again
        assert len(planned) == 2 and len(lost.run_requests or []) == 1

        instance.delete_dynamic_partition(CHARACTERS, "beta")  # removed by hand: added again
        readded = _tick(instance, inbox, again.cursor)
        (added,) = readded.dynamic_partitions_requests or []
        assert isinstance(added, dg.AddDynamicPartitionsRequest)
        assert list(added.partition_keys) == ["beta"]
        instance.add_dynamic_partitions(CHARACTERS, ["beta"])

        _sketch(inbox / "alpha" / "a.png", (200, 0, 0))  # rewritten in place
        changed = _tick(instance, inbox, readded.cursor)
        assert [r.partition_key_range for r in changed.run_requests or []] == [
            dg.PartitionKeyRange("alpha", "alpha")
        ]


def test_a_quiet_tick_reads_one_page_of_the_partitions_and_a_round_finds_a_deleted_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of one key over a cast of three: a quiet tick never reads every partition, and the
    round that ends after a deletion by hand plans again and adds the partition back."""
    inbox = tmp_path / "inbox"
    names = ("alpha", "beta", "gamma")
    for name in names:
        _sketch(inbox / name / "a.png", (10, 20, 30))
    then = time.time_ns() - 60 * 1_000_000_000  # untouched for a minute: its scan is remembered
    for path in [inbox, *inbox.rglob("*")]:
        os.utime(path, ns=(then, then))
    monkeypatch.setattr(sensors, "PARTITIONS_PER_QUIET_TICK", 1)
    with dg.DagsterInstance.ephemeral() as instance:
        pages: list[int] = []
        real_page = instance.get_paginated_dynamic_partitions

        def paged(name: str, limit: int, ascending: bool, cursor: str | None = None) -> Any:
            pages.append(limit)
            return real_page(name, limit, ascending, cursor)

        def whole(name: str) -> Sequence[str]:
            raise AssertionError("a quiet tick read every partition")

        first = _tick(instance, inbox, None)
        instance.add_dynamic_partitions(CHARACTERS, list(names))
        with monkeypatch.context() as patch:
            patch.setattr(instance, "get_paginated_dynamic_partitions", paged)
            patch.setattr(instance, "get_dynamic_partitions", whole)
            for _ in range(4):  # a round of three pages, and the first page of the next
                quiet = _tick(instance, inbox, first.cursor)
                assert quiet.skip_reason is not None and not quiet.dynamic_partitions_requests
            assert pages == [1, 1, 1, 1]

            instance.delete_dynamic_partition(CHARACTERS, "alpha")  # seen in this round
            for _ in range(2):  # this round ends without a sign of it
                assert _tick(instance, inbox, first.cursor).skip_reason is not None
            # The next round's first page is "beta" now.
            assert _tick(instance, inbox, first.cursor).skip_reason is not None
        # Its second page ends it without "alpha": plan again (reading every partition).
        readded = _tick(instance, inbox, first.cursor)
        (added,) = readded.dynamic_partitions_requests or []
        assert isinstance(added, dg.AddDynamicPartitionsRequest)
        assert list(added.partition_keys) == ["alpha"]


def test_a_quiet_tick_asks_after_the_style_guide_until_it_was_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = tmp_path / "inbox"
    _sketch(inbox / "alpha" / "a.png", (10, 20, 30))
    (inbox / "_style").mkdir()
    (inbox / "_style" / "style.yaml").write_text("art_direction: ink and wash\n")
    then = time.time_ns() - 60 * 1_000_000_000  # untouched for a minute: its scan is remembered
    for path in [inbox, *inbox.rglob("*")]:
        os.utime(path, ns=(then, then))
    asked: list[int] = []
    real_style_changed = sensors._style_changed

    def counted(*args: Any) -> str | None:
        asked.append(1)
        return real_style_changed(*args)

    monkeypatch.setattr(sensors, "_style_changed", counted)
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, ["alpha"])
        first = _tick(instance, inbox, None)  # the style is read first, in a run of its own
        (run,) = first.run_requests or []
        assert run.asset_selection == [cast_style.KEY]
        # The style not read yet (its run may be queued or have failed): the next tick asks.
        again = _tick(instance, inbox, first.cursor)
        (read_style,) = again.run_requests or []
        assert read_style.asset_selection == [cast_style.KEY]
        assert read_style.run_key == run.run_key  # Dagster launches it once
        assert len(asked) == 2

        style = InboxResource(local_root=str(inbox)).source().scan().style
        assert style is not None
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                cast_style.KEY, tags={cast_style.INBOX_FINGERPRINT_TAG: style.fingerprint}
            )
        )
        read = _tick(instance, inbox, again.cursor)  # alpha waited for it, and now runs
        (alpha,) = read.run_requests or []
        assert alpha.asset_selection == PIPELINE_KEYS and alpha.partition_key_range == (
            dg.PartitionKeyRange("alpha", "alpha")
        )
        assert len(asked) == 3
        quiet = _tick(instance, inbox, read.cursor)  # read from this very inbox: settled
        assert not quiet.run_requests and len(asked) == 3
        assert quiet.skip_reason is not None
        assert quiet.skip_reason.skip_message == "1 character, none new or changed"


def test_what_at_the_root_is_not_a_character_is_said_on_every_tick(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _sketch(inbox / "alpha" / "a.png", (10, 20, 30))
    (inbox / "empty-folder").mkdir()
    (inbox / "hero-sheet.psd").write_bytes(b"8BPS")
    (inbox / ".DS_Store").write_bytes(b"")  # hidden: not worth a word
    with dg.DagsterInstance.ephemeral() as instance:
        first = _tick(instance, inbox, None)
        instance.add_dynamic_partitions(CHARACTERS, ["alpha"])
        quiet = _tick(instance, inbox, first.cursor)
    assert quiet.skip_reason is not None
    said = quiet.skip_reason.skip_message or ""
    assert said.startswith("1 character, none new or changed; not characters: ")
    assert "empty-folder: empty folder" in said and "hero-sheet.psd: " in said
    assert "DS_Store" not in said


def test_a_style_guide_whose_run_failed_is_said_once_a_tick_not_asked_again(
    tmp_path: Path,
) -> None:
    inbox = tmp_path / "inbox"
    _sketch(inbox / "alpha" / "a.png", (10, 20, 30))
    (inbox / "_style").mkdir()
    (inbox / "_style" / "style.yaml").write_text("aspect_ratio: 7:3\n")  # not a ratio offered
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, ["alpha"])
        first = _tick(instance, inbox, None)
        again = _tick(instance, inbox, first.cursor)
        (read_style,) = again.run_requests or []
        # The run the daemon launches for it fails on the bad style.yaml.
        failed = dg.materialize(
            [cast_style.cast_style],
            instance=instance,
            resources={
                "inbox": InboxResource(local_root=str(inbox)),
                "storage": ChargenStorage(local_root=str(tmp_path / "storage")),
            },
            tags={"dagster/run_key": read_style.run_key or ""},
            raise_on_error=False,
        )
        assert not failed.success
        after = _tick(instance, inbox, again.cursor)
        assert not after.run_requests and after.skip_reason is not None
        told = after.skip_reason.skip_message or ""
        assert told.startswith("_style/ as it is now could not be read")
        assert failed.run_id[:8] in told


def test_a_character_dropped_while_the_style_guide_cannot_be_read_is_made_once_it_is_fixed(
    tmp_path: Path,
) -> None:
    """A newcomer broke style.yaml, dropped a character, then fixed style.yaml: the character
    waited for the guide instead of going down with it in one run, and is asked for once the
    fixed guide has been read."""
    inbox = tmp_path / "inbox"
    _sketch(inbox / "alpha" / "a.png", (10, 20, 30))
    (inbox / "_style").mkdir()
    (inbox / "_style" / "style.yaml").write_text("aspect_ratio: 7:3\n")  # not a ratio offered
    resources = {
        "inbox": InboxResource(local_root=str(inbox)),
        "storage": ChargenStorage(local_root=str(tmp_path / "storage")),
    }

    def read_style(run_key: str | None) -> bool:
        """The style run the daemon launches for this run key."""
        return dg.materialize(
            [cast_style.cast_style],
            instance=instance,
            resources=resources,
            tags={"dagster/run_key": run_key or ""},
            raise_on_error=False,
        ).success

    with dg.DagsterInstance.ephemeral() as instance:
        first = _tick(instance, inbox, None)
        (added,) = first.dynamic_partitions_requests or []
        instance.add_dynamic_partitions(CHARACTERS, list(added.partition_keys))
        (style_run,) = first.run_requests or []
        assert style_run.asset_selection == [cast_style.KEY]  # alpha is not in it
        assert not read_style(style_run.run_key)
        stuck = _tick(instance, inbox, first.cursor)
        assert not stuck.run_requests and stuck.skip_reason is not None
        told = stuck.skip_reason.skip_message or ""
        assert told.startswith("_style/ as it is now could not be read")
        assert told.endswith("; 1 new or changed character wait for it (alpha)")

        (inbox / "_style" / "style.yaml").write_text('aspect_ratio: "2:3"\n')  # fixed
        fixed = _tick(instance, inbox, stuck.cursor)
        (style_run,) = fixed.run_requests or []
        assert style_run.asset_selection == [cast_style.KEY]
        assert read_style(style_run.run_key)
        made = _tick(instance, inbox, fixed.cursor)
        (alpha,) = made.run_requests or []
        assert alpha.asset_selection == PIPELINE_KEYS
        assert alpha.partition_key_range == dg.PartitionKeyRange("alpha", "alpha")
