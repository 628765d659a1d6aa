import dagster as dg
import pytest

from chargen_assets import sensors
from chargen_assets.sensors import contiguous_ranges, range_run_requests


def test_contiguous_ranges_follow_partition_order() -> None:
    ordered = ["a", "b", "c", "d", "e"]
    assert contiguous_ranges(ordered, {"a", "b", "d"}) == [
        ("a", "b", ["a", "b"]),
        ("d", "d", ["d"]),
    ]
    assert contiguous_ranges(ordered, set()) == []
    assert contiguous_ranges(ordered, set(ordered)) == [("a", "e", ordered)]


def test_a_range_holds_at_most_the_characters_one_run_may_have() -> None:
    ordered = ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert contiguous_ranges(ordered, set(ordered) - {"f"}, most=3) == [
        ("a", "c", ["a", "b", "c"]),
        ("d", "e", ["d", "e"]),
        ("g", "h", ["g", "h"]),
    ]


def test_a_change_in_one_block_leaves_the_other_blocks_ranges_as_they_were() -> None:
    ordered = [f"hero-{index}" for index in range(10)]
    before = contiguous_ranges(ordered, set(ordered), most=4)
    after = contiguous_ranges(ordered, set(ordered) - {"hero-3"}, most=4)
    assert before[1:] == after[1:]  # the runs already asked for keep their run keys
    assert after[0] == ("hero-0", "hero-2", ["hero-0", "hero-1", "hero-2"])


def test_a_change_in_one_block_leaves_the_other_blocks_run_keys_as_they_were(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run still in flight must not be asked for again under a new key because a character
    of another block changed (Dagster would launch it twice)."""
    monkeypatch.setattr(sensors, "MAX_CHARACTERS_PER_RUN", 4)
    ordered = [f"hero-{index}" for index in range(10)]
    contents = {key: f"content of {key}" for key in ordered}

    def run_keys() -> list[str | None]:
        requests = range_run_requests(
            ordered,
            set(ordered),
            [dg.AssetKey("character_image")],
            "inbox",
            lambda keys: ",".join(contents[key] for key in keys),
        )
        return [request.run_key for request in requests]

    before = run_keys()
    contents["hero-5"] = "redrawn"
    after = run_keys()
    assert len(set(before)) == 3
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1] != before[1]  # its own block's run is asked for anew


def test_new_partitions_are_added_in_batches_sqlite_accepts() -> None:
    from chargen_assets.sensors import PARTITIONS_PER_ADD, add_requests

    keys = [f"hero-{n:05d}" for n in range(2 * PARTITIONS_PER_ADD + 1)]
    requests = add_requests(keys)
    assert [len(r.partition_keys) for r in requests] == [PARTITIONS_PER_ADD] * 2 + [1]
    assert [k for r in requests for k in r.partition_keys] == keys  # order kept
    assert PARTITIONS_PER_ADD < 32_766  # SQLite's default limit of variables per statement
    assert add_requests([]) == []


@pytest.mark.parametrize(
    ("given", "told"),
    [
        ("7", "7"),
        ("abc", "CHARGEN_MAX_CHARACTERS_PER_RUN is 'abc': it is the most characters one run"),
        ("0", "CHARGEN_MAX_CHARACTERS_PER_RUN is '0'"),
    ],
)
def test_the_run_size_comes_from_the_environment_and_a_wrong_one_names_itself(
    given: str, told: str
) -> None:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from chargen_assets import sensors; print(sensors.MAX_CHARACTERS_PER_RUN)",
        ],
        env={**os.environ, "CHARGEN_MAX_CHARACTERS_PER_RUN": given},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert told in (done.stdout if done.returncode == 0 else done.stderr)
