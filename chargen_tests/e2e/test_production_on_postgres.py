"""End to end on the production profile: Postgres, S3, a code server, a webserver, a daemon.

Everything runs as production runs it (deploy/): `dagster code-server start` serves the code
location (as deploy/Dockerfile's CMD does), `dagster-webserver` and `dagster-daemon run` read the
workspace of deploy/workspace.yaml pointed at it, and the instance is deploy/dagster.yaml on a
fresh database of a real PostgreSQL server (fixtures/postgres.py, DAGSTER_PG_* as deploy reads
them). Inbox and results are on the moto S3 server, CHARGEN_PROFILE=production, and the Gemini
emulator is a separate HTTP server reached through GEMINI_BASE_URL with CHARGEN_ALLOW_EMULATOR=true
(the production profile's explicit allowance; without it, or a key, the code location refuses to
load, which the last test checks).

One change to deploy/dagster.yaml, and only one: `run_launcher` becomes Dagster's
`DefaultRunLauncher` (runs are subprocesses of the code server), because neither Docker nor
Kubernetes can run on this project's machines. Storage, the QueuedRunCoordinator and its limit,
run monitoring, run retries and the sensor settings are the file's own. (Its Postgres port is the
file's 5432 too, unless the test server listens elsewhere.)

How the dead worker is seen with that launcher. DefaultRunLauncher has no
`check_run_worker_health` (`supports_check_run_worker_health` is False), so the daemon's run
monitoring (dagster/_daemon/monitoring/run_monitoring.py, `monitor_started_run`) cannot tell a
STARTED run whose worker died: it only enforces the start timeout and a max runtime. What fails
the run is the code server that spawned the worker: its `grpc-server-cleanup` thread
(dagster/_grpc/server.py, `_check_for_orphaned_runs`, every 0.5 s) finds the worker process no
longer alive, logs "Run execution process for <run> was terminated by signal 9" and calls
`report_run_failed`. The daemon's run-retry consumer (run_retries, every 5 s) then sees a run
failure that is not a step failure (`retry_on_asset_or_op_failure: false` keeps step failures
alone) and queues a retry with `dagster/parent_run_id`. This holds as long as the code server
outlives its worker; a dead code server takes its workers with it and nothing reports them
(then only the Docker/Kubernetes launchers' health checks, deploy's real launchers, would see it).

The scenario: three character folders dropped into the S3 inbox one after the other, each once
the inbox sensor has launched a run for the previous one; the emulator keeps batch jobs RUNNING
on its clock (`running_seconds`) until the test releases them by advancing that clock, so the
three runs are STARTED at the same time, deterministically; one run worker is killed with
kill -9 while it polls its analysis job; Dagster fails and retries that run; the retry attaches
to the job the dead run submitted; every character ends with its image in S3, and the emulator
billed each request once. Every wait polls real state (GraphQL, the emulator, S3) against a
deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chargen_resources.emulator import EmulatorSettings
from chargen_tests.fixtures.production import (
    BIN,
    CHARACTERS,
    HOLDING_EMULATOR,
    RANGE_START,
    Production,
    StartProduction,
    deploy_instance,
    tag,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    return HOLDING_EMULATOR


def production_instance() -> dict[str, Any]:
    """deploy/dagster.yaml with its run launcher, and only that, swapped for the default one."""
    settings = deploy_instance()
    assert settings["run_launcher"]["class"] == "DockerRunLauncher"  # what we replace
    settings["run_launcher"] = {"module": "dagster", "class": "DefaultRunLauncher"}
    return settings


@pytest.fixture
def production(start_production: StartProduction) -> Iterator[Production]:
    with start_production(production_instance()) as running:
        yield running


def worker_pid(production: Production, run_id: str) -> int | None:
    """The run worker's pid, from the engine event Dagster logs when the worker starts."""
    for message in production.messages(run_id):
        if message.startswith("Started process for run (pid: "):
            return int(message.split("pid: ")[1].rstrip(")."))
    return None


def test_three_overlapping_sensor_runs_a_killed_worker_retried_and_each_request_paid_once(
    production: Production,
) -> None:
    # Three folders at different moments: each after the sensor launched the previous one's run.
    first = production.drop_one_by_one(CHARACTERS)

    # Every run polls its analysis job, which the emulator holds RUNNING: three runs in flight.
    def three_started() -> list[dict[str, Any]] | None:
        states = production.batch_states()
        started = [r for r in production.pipeline_runs() if r["status"] == "STARTED"]
        submitted = states.count("BATCH_STATE_RUNNING") == len(CHARACTERS)
        return started if submitted and len(started) == len(CHARACTERS) else None

    started = production.wait_for(three_started, "three runs STARTED at once, each polling")
    assert {tag(r, RANGE_START) for r in started} == set(CHARACTERS)

    # kill -9 the worker of the first run, mid-poll; Dagster fails the run and retries it.
    victim = first["amber"]["runId"]
    pid = production.wait_for(lambda: worker_pid(production, victim), "the worker's pid")
    os.kill(pid, signal.SIGKILL)

    retry = production.failed_and_retried(victim)
    assert tag(retry, RANGE_START) == "amber"
    # Who noticed: the code server that spawned the worker (DefaultRunLauncher has no health
    # check for the daemon's run monitoring to call; see the module's docstring).
    died = f"Run execution process for {victim} was terminated by signal 9 (SIGKILL)."
    said = production.messages(victim)
    assert any(died in m for m in said), said  # "[DagsterApiServer] Run execution ..."
    # The retry attached to the job the dead run submitted: still the same three jobs.
    assert production.batch_states().count("BATCH_STATE_RUNNING") == len(CHARACTERS)

    # Release the jobs (each time one is held) until every run has ended and every image is in S3.
    runs = production.wait_for(
        lambda: production.all_done(set(CHARACTERS)), "every character's image", timeout=180
    )
    by_id = {r["runId"]: r["status"] for r in runs}
    assert by_id.pop(victim) == "FAILURE"
    assert by_id.pop(retry["runId"]) == "SUCCESS"
    assert sorted(by_id.values()) == ["SUCCESS", "SUCCESS"], runs  # basalt and coral, untouched
    assert len(production.batch_states()) == 2 * len(CHARACTERS)  # one analysis, one image each
    said = production.messages(retry["runId"])
    assert any("attaching" in m for m in said), said
    billing = production.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CHARACTERS), billing


def test_the_production_profile_refuses_to_load_without_a_key(tmp_path: Path) -> None:
    """What the code location shows when the GEMINI_API_KEY secret is missing: a load error."""
    env = {**os.environ, "CHARGEN_PROFILE": "production", "DAGSTER_HOME": str(tmp_path)}
    for name in ("GEMINI_API_KEY", "CHARGEN_ALLOW_EMULATOR", "GEMINI_BASE_URL"):
        env.pop(name, None)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    validated = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-m", "chargen_assets.definitions"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = validated.stdout + validated.stderr
    assert validated.returncode != 0, output
    assert "GEMINI_API_KEY is not set" in output, output
