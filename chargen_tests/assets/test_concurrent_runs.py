"""Runs at once, as `dagster asset materialize` processes: no lock, and every request paid once."""

from __future__ import annotations

import time

import pytest
from google.genai import types

from chargen_resources.emulator import EmulatorSettings
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.fixtures.project import Project

CAST = [f"c{n:02d}" for n in range(15)]
RUNNING_SECONDS = 12.0


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    # Jobs stay RUNNING long enough for runs to overlap.
    return EmulatorSettings(pending_seconds=0.3, running_seconds=RUNNING_SECONDS, draft_images=0)


def test_overlapping_runs_pay_for_the_union_once(project: Project) -> None:
    project.add_characters(CAST)
    first = project.start("c00", "c09")
    second = project.start("c05", "c14")
    assert first.wait(timeout=300) == 0, project.log()
    assert second.wait(timeout=300) == 0, project.log()
    assert project.materialized_images() == set(CAST)
    billing = project.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == billing["batch"] == 2 * len(CAST), billing
    assert project.files_left() == []
    assert "instead of paying again" in project.log(tail=0)  # the later run attached to the first


def test_a_one_character_run_does_not_wait_for_another_run_s_batch_job(project: Project) -> None:
    project.add_characters(CAST)
    backfill = project.start("c00", "c09")
    client = client_for(project.emulator)
    deadline = time.monotonic() + 60
    while not list(client.batches.list()):  # the backfill's analysis job exists
        assert time.monotonic() < deadline and backfill.poll() is None, project.log()
        time.sleep(0.2)
    started = time.monotonic()
    assert project.materialize("c14", "c14") == 0, project.log()
    quick = time.monotonic() - started
    (job,) = list(client.batches.list())
    assert job.state in (types.JobState.JOB_STATE_PENDING, types.JobState.JOB_STATE_RUNNING), (
        f"the one-character run took {quick:.1f}s and the batch job had already ended"
    )
    assert backfill.wait(timeout=300) == 0, project.log()
    billing = project.billing()
    assert billing["interactive"] == 2 and billing["batch"] == 20, billing
    assert billing["repeated"] == {}
    assert project.materialized_images() == {*CAST[:10], "c14"}


def test_a_run_over_the_ceiling_sends_nothing_and_says_what_to_do(project: Project) -> None:
    project.add_characters(CAST[:3])
    code = project.materialize("c00", "c02", {"CHARGEN_MAX_RUN_COST_USD": "0.01"})
    assert code != 0
    log = project.log(tail=0)
    assert "over the ceiling of $0.01 per run; nothing was sent" in log
    assert "CHARGEN_MAX_RUN_COST_USD" in log and "chargen estimate" in log
    assert project.billing()["paid"] == 0
    assert list(client_for(project.emulator).files.list()) == []  # not even an upload


def test_concurrent_runs_under_a_shared_monthly_budget_cannot_exceed_it(project: Project) -> None:
    project.add_characters(CAST[:6])
    # One run of three characters is estimated at about $0.21 at batch prices: the budget holds
    # one such run, not two.
    budget = {"CHARGEN_MONTHLY_BUDGET_USD": "0.30"}
    runs = [project.start("c00", "c02", budget), project.start("c03", "c05", budget)]
    codes = sorted(run.wait(timeout=300) for run in runs)
    assert codes[0] == 0 and codes[1] != 0, project.log()
    assert "monthly budget of $0.30" in project.log(tail=0)
    billing = project.billing()
    assert billing["paid"] == 6 and billing["repeated"] == {}, billing  # one run's requests
    assert len(project.materialized_images()) == 3
