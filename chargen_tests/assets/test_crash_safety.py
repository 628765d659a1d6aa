"""Crash safety, proven by crashing: the run process dies at every point where chargen changes
durable state (`CHARGEN_CRASH_AT`, an `os._exit` as abrupt as kill -9), then the same command
runs again. Whatever the point, every character ends with its image and the emulator billed
each request exactly once.
"""

from __future__ import annotations

import pytest

from chargen_resources.gemini.crash_points import CRASH_EXIT_CODE, POINTS
from chargen_tests.fixtures.project import Project

CAST = ["ash", "brook", "cinder"]
# (point, passage): passages count per process. With three characters a paid stage passes
# `claimed` and `line-done` three times, `result-stored` three times per stage (four stages),
# `recorded` once per stage, and the job points once per paid stage (analysis first).
MATRIX = [
    ("claimed", 1),
    ("claimed", 4),
    ("claimed", 6),
    *[(point, n) for point in ("job-recorded", "uploaded", "input-uploaded") for n in (1, 2)],
    *[(point, n) for point in ("created", "submitted", "polled", "succeeded") for n in (1, 2)],
    ("result-stored", 1),
    ("result-stored", 4),
    ("result-stored", 5),
    ("result-stored", 10),
    ("result-stored", 12),
    ("recorded", 2),
    ("recorded", 4),
    ("line-done", 1),
    ("line-done", 3),
    ("line-done", 5),
    ("consumed", 1),
    ("consumed", 2),
]


def test_the_matrix_covers_every_crash_point() -> None:
    assert {point for point, _ in MATRIX} == set(POINTS)


@pytest.mark.parametrize(("point", "passage"), MATRIX, ids=[f"{p}-{n}" for p, n in MATRIX])
def test_a_crash_anywhere_then_a_rerun_pays_each_request_once(
    project: Project, point: str, passage: int
) -> None:
    project.add_characters(CAST)
    crashed = project.materialize(CAST[0], CAST[-1], {"CHARGEN_CRASH_AT": f"{point}#{passage}"})
    assert crashed == CRASH_EXIT_CODE, project.log()
    assert project.materialize(CAST[0], CAST[-1]) == 0, project.log()
    assert project.materialized_images() == set(CAST)
    assert project.images() == set(CAST)
    billing = project.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CAST), billing
    assert project.files_left() == []  # every attempt's input file and uploads were deleted
    staging = project.storage / "chargen" / "_staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))
