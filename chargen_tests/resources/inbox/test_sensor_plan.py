from __future__ import annotations

import base64
import zlib

import pytest

from chargen_resources.inbox.sensor_plan import (
    CURSOR_PREFIX,
    CharacterRunRequest,
    decode_cursor,
    encode_cursor,
    plan_tick,
)
from chargen_resources.inbox.sources import InboxCharacter, InboxFile


def character(key: str, *versions: str, spec_version: str | None = None) -> InboxCharacter:
    images = tuple(
        InboxFile(name=f"{i}.png", ref=f"{key}/{i}.png", size=100 + i, version=version)
        for i, version in enumerate(versions or ("v1",))
    )
    spec = (
        None
        if spec_version is None
        else InboxFile(name="character.yaml", ref=f"{key}/c.yaml", size=5, version=spec_version)
    )
    return InboxCharacter(key=key, source_name=key, images=images, spec_file=spec)


def test_first_tick_adds_partitions_and_requests_everything() -> None:
    cast = [character("b"), character("a")]
    plan = plan_tick(cast, None, set())
    assert plan.new_partitions == ["a", "b"]
    assert plan.requests == [
        CharacterRunRequest(partition_key="a", run_key=f"a@{cast[1].fingerprint}"),
        CharacterRunRequest(partition_key="b", run_key=f"b@{cast[0].fingerprint}"),
    ]
    assert plan.unchanged == 0 and plan.removed == []


def test_unchanged_inbox_gives_an_empty_tick() -> None:
    cast = [character("a"), character("b")]
    first = plan_tick(cast, None, set())
    second = plan_tick(cast, first.cursor, {"a", "b"})
    assert second.requests == [] and second.new_partitions == []
    assert second.unchanged == 2
    assert second.cursor == first.cursor


def test_changed_file_retriggers_only_that_character() -> None:
    first = plan_tick([character("a"), character("b")], None, set())
    changed = character("b", "v2")
    plan = plan_tick([character("a"), changed], first.cursor, {"a", "b"})
    assert [r.partition_key for r in plan.requests] == ["b"]
    assert plan.requests[0].run_key == f"b@{changed.fingerprint}"
    assert plan.new_partitions == []


def test_added_image_and_changed_spec_retrigger() -> None:
    first = plan_tick([character("a", spec_version="s1")], None, set())
    more = plan_tick([character("a", "v1", "v1", spec_version="s1")], first.cursor, {"a"})
    respec = plan_tick([character("a", spec_version="s2")], first.cursor, {"a"})
    assert [r.partition_key for r in more.requests] == ["a"]
    assert [r.partition_key for r in respec.requests] == ["a"]


def test_reverting_content_gives_the_original_run_key_again() -> None:
    # Dagster dedupes run keys, so going back to already-run content does not run twice.
    original = plan_tick([character("a")], None, set())
    changed = plan_tick([character("a", "v2")], original.cursor, {"a"})
    reverted = plan_tick([character("a")], changed.cursor, {"a"})
    assert reverted.requests == original.requests


def test_new_character_only() -> None:
    first = plan_tick([character("a")], None, set())
    plan = plan_tick([character("a"), character("new")], first.cursor, {"a"})
    assert plan.new_partitions == ["new"]
    assert [r.partition_key for r in plan.requests] == ["new"]


def test_removed_characters_leave_the_cursor_but_no_partition_is_deleted() -> None:
    first = plan_tick([character("a"), character("gone")], None, set())
    plan = plan_tick([character("a")], first.cursor, {"a", "gone"})
    assert plan.removed == ["gone"]
    assert plan.requests == [] and plan.new_partitions == []
    assert set(decode_cursor(plan.cursor).fingerprints) == {"a"}


def test_returning_character_gets_its_old_run_key() -> None:
    first = plan_tick([character("a")], None, set())
    gone = plan_tick([], first.cursor, {"a"})
    back = plan_tick([character("a")], gone.cursor, {"a"})
    assert back.requests == first.requests


def test_missing_partition_is_requested_even_if_cursor_knows_it() -> None:
    first = plan_tick([character("a")], None, set())
    plan = plan_tick([character("a")], first.cursor, set())  # e.g. a wiped instance
    assert plan.new_partitions == ["a"]
    assert [r.partition_key for r in plan.requests] == ["a"]


@pytest.mark.parametrize("cursor", ["", "garbage", f"{CURSOR_PREFIX}!!!", "v0:abc", '{"a":"b"}'])
def test_damaged_or_foreign_cursor_reads_as_empty(cursor: str) -> None:
    assert decode_cursor(cursor).fingerprints == {}
    plan = plan_tick([character("a")], cursor, {"a"})
    assert [r.partition_key for r in plan.requests] == ["a"]


def test_cursor_with_valid_zlib_but_wrong_shape_reads_as_empty() -> None:
    packed = base64.b64encode(zlib.compress(b'{"fingerprints": [1, 2]}')).decode()
    assert decode_cursor(CURSOR_PREFIX + packed).fingerprints == {}


def test_cursor_stays_small_for_thousands_of_characters() -> None:
    cast = [character(f"hero-{i:05d}", f"v{i}") for i in range(5000)]
    plan = plan_tick(cast, None, set())
    assert len(plan.cursor) < 5000 * 30
    assert len(decode_cursor(plan.cursor).fingerprints) == 5000
    again = plan_tick(cast, plan.cursor, {c.key for c in cast})
    assert again.requests == [] and again.unchanged == 5000


def test_cursor_round_trip() -> None:
    state = {"a": "0123456789abcdef", "b": "fedcba9876543210"}
    assert decode_cursor(encode_cursor(state)).fingerprints == {
        "a": "0123456789ab",
        "b": "fedcba987654",
    }


def test_plan_is_independent_of_listing_order() -> None:
    cast = [character("c"), character("a"), character("b", "v3")]
    assert plan_tick(cast, None, set()) == plan_tick(list(reversed(cast)), None, set())


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="share the partition key 'a'"):
        plan_tick([character("a"), character("a", "v2")], None, set())
