"""Crash safety, proven by crashing: the run process dies at every point where chargen changes
durable state (`CHARGEN_CRASH_AT`, an `os._exit` as abrupt as kill -9), then the same command
runs again. Whatever the point, every character ends with its image and the emulator billed
each request exactly once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import dagster as dg
import pytest

from chargen_resources.gemini.crash_points import CRASH_EXIT_CODE, POINTS
from chargen_tests.fixtures.project import Project

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CAST = ["ash", "brook", "cinder"]
# (point, passage): passages count per process. With three characters a paid stage passes
# `claimed` and `line-done` three times, `result-stored` three times per stage (four stages),
# `recorded` once per stage, and the job points once per paid stage (analysis first).
MATRIX = [
    ("claimed", 1),
    ("claimed", 4),
    ("claimed", 6),
    *[
        (point, n)
        for point in ("job-recorded", "uploaded", "input-uploaded", "fenced")
        for n in (1, 2)
    ],
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
    # One take each: a result read again after the crash is the same take, not a second one.
    assert project.takes() == [f"{name}/01" for name in sorted(CAST)]
    billing = project.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CAST), billing
    assert project.files_left() == []  # every attempt's input file and uploads were deleted
    staging = project.storage / "chargen" / "_staging"
    assert not staging.exists() or not any(p.is_file() for p in staging.rglob("*"))


ON_S3 = [("created", 1), ("result-stored", 10), ("line-done", 3)]


@pytest.mark.parametrize(("point", "passage"), ON_S3, ids=[f"{p}-{n}" for p, n in ON_S3])
def test_on_s3_a_crash_then_a_rerun_pays_each_request_once(
    project: Project,
    moto_server: str,
    s3_client: S3Client,
    s3_bucket: str,
    point: str,
    passage: int,
) -> None:
    on_s3 = {"CHARGEN_STORAGE": f"s3://{s3_bucket}/chargen", "CHARGEN_S3_ENDPOINT_URL": moto_server}
    project.add_characters(CAST)
    crash = {**on_s3, "CHARGEN_CRASH_AT": f"{point}#{passage}"}
    assert project.materialize(CAST[0], CAST[-1], crash) == CRASH_EXIT_CODE, project.log()
    assert project.materialize(CAST[0], CAST[-1], on_s3) == 0, project.log()
    assert project.materialized_images() == set(CAST)
    listed = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="chargen/character_image/")
    pngs = {item["Key"] for item in listed.get("Contents", []) if item["Key"].endswith(".png")}
    # Each final image, and one take of it: a result read again after a crash is the same take.
    assert pngs == {f"chargen/character_image/{name}.png" for name in CAST} | {
        f"chargen/character_image/{name}/takes/01.png" for name in CAST
    }
    staging = s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="chargen/_staging/")
    assert staging.get("KeyCount", 0) == 0
    billing = project.billing()
    assert billing["repeated"] == {} and billing["paid"] == billing["unique"] == 6, billing
    assert project.files_left() == []


def test_a_crash_in_another_pod_is_recovered_once_dagster_failed_its_run(project: Project) -> None:
    """A run worker in a pod (or container) dies after claiming its requests and uploading,
    before creating the job. No process here can say it is gone; its run, failed by Dagster's
    run monitoring, does: the retry takes the claims over at once instead of waiting out their
    15-minute lease, and pays each request once."""
    project.add_characters(CAST)
    env = {"CHARGEN_CRASH_AT": "uploaded#1"}
    assert project.materialize(CAST[0], CAST[-1], env) == CRASH_EXIT_CODE, project.log()
    ledger = project.storage / "chargen" / "_ledger"
    left = [*ledger.glob("claims/**/*.json"), *ledger.glob("jobs/*.json")]
    assert left, "the crash left no claims to recover"
    for path in left:  # the ledger as the pod left it: made on a host this one is not
        record = json.loads(path.read_text())
        record["claimant"]["host"] = "chargen-run-5d1c-x7k2q"
        path.write_text(json.dumps(record))
    with dg.DagsterInstance.from_config(str(project.home)) as instance:
        (crashed,) = instance.get_runs()
        assert crashed.status == dg.DagsterRunStatus.STARTED  # nothing here monitors runs
        instance.report_run_failed(crashed)  # what run monitoring does for a dead pod
    assert project.materialize(CAST[0], CAST[-1]) == 0, project.log()
    assert "being submitted by another run" not in project.log(tail=0)
    # The retry's estimate priced them as to be paid, not as carried by the dead pod's run.
    *_, retry_estimate = (line for line in project.log(tail=0).splitlines() if "estimate" in line)
    assert f"send character_analysis {len(CAST)}, " in retry_estimate
    assert "0 already in flight" in retry_estimate
    assert project.materialized_images() == set(CAST)
    billing = project.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CAST), billing
    assert project.files_left() == []
