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

import contextlib
import functools
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import pytest
import yaml
from PIL import Image

from chargen_resources.emulator import EmulatorSettings, RunningEmulator

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.e2e

# Batch jobs stay RUNNING this long on the emulator's clock: in wall time, until the test
# advances that clock. (Far below the jobs' own 26 h timeout and the files' 48 h expiry even
# after every advance the test makes.)
HOLD_SECONDS = 600.0
CHARACTERS = {"amber": (230, 160, 20), "basalt": (50, 50, 60), "coral": (240, 110, 100)}
RANGE_START = "dagster/asset_partition_range_start"
PARENT = "dagster/parent_run_id"
IN_FLIGHT = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")
T = TypeVar("T")


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    return EmulatorSettings(pending_seconds=0, running_seconds=HOLD_SECONDS, draft_images=0)


def production_instance(postgres_port: int) -> dict[str, Any]:
    """deploy/dagster.yaml with its run launcher, and only that, swapped for the default one."""
    settings: dict[str, Any] = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert settings["run_launcher"]["class"] == "DockerRunLauncher"  # what we replace
    settings["run_launcher"] = {"module": "dagster", "class": "DefaultRunLauncher"}
    if postgres_port != 5432:
        settings["storage"]["postgres"]["postgres_db"]["port"] = postgres_port
    return settings


def production_workspace(code_port: int) -> dict[str, Any]:
    """deploy/workspace.yaml, its gRPC server on loopback instead of the `chargen-code` host."""
    workspace: dict[str, Any] = yaml.safe_load((DEPLOY / "workspace.yaml").read_text())
    (entry,) = workspace["load_from"]
    entry["grpc_server"].update(host="127.0.0.1", port=code_port)
    return workspace


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _restore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _http_json(
    url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Any:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@dataclass
class Production:
    """The running deployment, as the test sees it from outside."""

    webserver_port: int
    emulator: RunningEmulator
    s3: S3Client
    bucket: str
    logs: Path

    def graphql(self, query: str) -> dict[str, Any]:
        answer = _http_json(f"http://127.0.0.1:{self.webserver_port}/graphql", {"query": query})
        assert "errors" not in answer, answer
        data: dict[str, Any] = answer["data"]
        return data

    def runs(self) -> list[dict[str, Any]]:
        data = self.graphql(
            "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
        )
        runs: list[dict[str, Any]] = data["runsOrError"]["results"]
        return runs

    def pipeline_runs(self) -> list[dict[str, Any]]:
        """The inbox sensor's runs and their retries (not the catalog automation's)."""
        return [run for run in self.runs() if tag(run, RANGE_START)]

    def messages(self, run_id: str) -> list[str]:
        """Every message in a run's event log (engine events and the run's own log lines)."""
        data = self.graphql(
            f'{{ logsForRun(runId: "{run_id}") {{ ... on EventConnection {{ events {{ '
            "... on MessageEvent { message } } } } }"
        )
        return [event.get("message") or "" for event in data["logsForRun"]["events"]]

    def worker_pid(self, run_id: str) -> int | None:
        """The run worker's pid, from the engine event Dagster logs when the worker starts."""
        for message in self.messages(run_id):
            if message.startswith("Started process for run (pid: "):
                return int(message.split("pid: ")[1].rstrip(")."))
        return None

    def batch_states(self) -> list[str]:
        """Every batch job the emulator holds, by state (BATCH_STATE_RUNNING, ...)."""
        answer = _http_json(
            f"{self.emulator.base_url}/v1beta/batches?pageSize=1000",
            headers={"x-goog-api-key": "test-key"},
        )
        return [op["metadata"]["state"] for op in answer.get("operations", [])]

    def release_batch_jobs(self) -> None:
        """Let every batch job now RUNNING finish: move the emulator's clock past its hold."""
        _http_json(f"{self.emulator.base_url}/emulator/clock", {"advanceSeconds": HOLD_SECONDS})

    def billing(self) -> dict[str, Any]:
        summary: dict[str, Any] = _http_json(f"{self.emulator.base_url}/emulator/billing")
        return summary

    def drop(self, character: str) -> None:
        buffer = io.BytesIO()
        Image.new("RGB", (64, 96), CHARACTERS[character]).save(buffer, format="PNG")
        self.s3.put_object(
            Bucket=self.bucket, Key=f"inbox/{character}/sketch.png", Body=buffer.getvalue()
        )

    def images(self) -> set[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="results/character_image/")
        keys = [item["Key"] for item in listed.get("Contents", [])]
        final = [k.removeprefix("results/character_image/") for k in keys if k.endswith(".png")]
        return {name.removesuffix(".png") for name in final if "/" not in name}  # not the takes

    def wait_for(self, condition: Callable[[], T | None], what: str, timeout: float = 120) -> T:
        """Poll `condition()` (each call reads real state) until it gives something truthy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # a server still starting
                value = condition()
                if value:
                    return value
            time.sleep(0.5)
        tails = "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.logs.glob("*.log"))
        )
        raise AssertionError(f"timed out waiting for {what}\n{tails}")


def tag(run: dict[str, Any], key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


@contextlib.contextmanager
def _processes(commands: dict[str, list[str]], env: dict[str, str], logs: Path) -> Iterator[None]:
    """Start each command in its own session (its run workers too); stop them all at the end."""
    started: list[tuple[subprocess.Popen[bytes], Any]] = []
    try:
        for name, command in commands.items():
            log = (logs / f"{name}.log").open("wb")
            process = subprocess.Popen(
                command,
                cwd=logs,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_restore_sigint,
            )
            started.append((process, log))
        yield
    finally:
        for process, _ in started:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
        for process, log in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=30)
            # Whatever is left of the group (a run worker the code server spawned) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            log.close()


@pytest.fixture
def production(
    tmp_path: Path,
    postgres_database: str,
    emulator: RunningEmulator,
    moto_server: str,
    s3_client: S3Client,
    s3_bucket: str,
) -> Iterator[Production]:
    database = urlsplit(postgres_database)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(production_instance(database.port or 5432)))
    code_port, webserver_port = _free_port(), _free_port()
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(yaml.safe_dump(production_workspace(code_port)))
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": database.hostname or "127.0.0.1",
        "DAGSTER_PG_USERNAME": database.username or "",
        "DAGSTER_PG_PASSWORD": database.password or "",
        "DAGSTER_PG_DB": database.path.lstrip("/"),
        "CHARGEN_PROFILE": "production",
        "CHARGEN_ALLOW_EMULATOR": "true",  # the profile's explicit allowance; no key is set
        "GEMINI_BASE_URL": emulator.base_url,
        "CHARGEN_STORAGE": f"s3://{s3_bucket}/results",
        "CHARGEN_INBOX": f"s3://{s3_bucket}/inbox",
        "CHARGEN_S3_ENDPOINT_URL": moto_server,
        "CHARGEN_EMULATOR_STATE": str(tmp_path / "unused-embedded-emulator"),
        "CHARGEN_POLL_SECONDS": "0.2",
        "CHARGEN_SENSOR_INTERVAL_SECONDS": "1",
        "PYTHONWARNINGS": "ignore::FutureWarning",
    }
    env.pop("GEMINI_API_KEY", None)
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Production(webserver_port, emulator, s3_client, s3_bucket, logs)
    code_server = {
        "code-server": [
            *(str(BIN / "dagster"), "code-server", "start", "-h", "127.0.0.1"),
            *("-p", str(code_port), "-m", "chargen_assets.definitions"),
        ]
    }
    instance_processes = {
        "webserver": [
            *(str(BIN / "dagster-webserver"), "-h", "127.0.0.1"),
            *("-p", str(webserver_port), "-w", str(workspace)),
        ],
        "daemon": [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)],
    }
    with _processes(code_server, env, logs):
        # The webserver and daemon find the location loaded when they start.
        running.wait_for(lambda: _code_location_loaded(code_port), "the code server to load")
        with _processes(instance_processes, env, logs):
            yield running


def _code_location_loaded(port: int) -> bool:
    from dagster._grpc.client import DagsterGrpcClient

    try:
        DagsterGrpcClient(port=port, host="127.0.0.1").list_repositories()
    except Exception:  # not listening yet, or still loading the definitions
        return False
    return True


def test_three_overlapping_sensor_runs_a_killed_worker_retried_and_each_request_paid_once(
    production: Production,
) -> None:
    def launched_for(character: str) -> dict[str, Any] | None:
        return next(
            (r for r in production.pipeline_runs() if tag(r, RANGE_START) == character), None
        )

    # Three folders at different moments: each after the sensor launched the previous one's run.
    first: dict[str, dict[str, Any]] = {}
    for character in CHARACTERS:
        production.drop(character)
        first[character] = production.wait_for(
            functools.partial(launched_for, character),
            f"the inbox sensor to launch a run for {character}",
            timeout=150 if not first else 60,  # the first also waits for the servers to start
        )

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
    pid = production.wait_for(lambda: production.worker_pid(victim), "the worker's pid")
    os.kill(pid, signal.SIGKILL)

    def retry_started() -> dict[str, Any] | None:
        runs = production.pipeline_runs()
        dead = next(r for r in runs if r["runId"] == victim)
        retry = next((r for r in runs if tag(r, PARENT) == victim), None)
        return (
            retry
            if dead["status"] == "FAILURE" and retry and retry["status"] == "STARTED"
            else None
        )

    retry = production.wait_for(retry_started, "Dagster to fail the run and start its retry")
    assert tag(retry, RANGE_START) == "amber"
    # Who noticed: the code server that spawned the worker (DefaultRunLauncher has no health
    # check for the daemon's run monitoring to call; see the module's docstring).
    died = f"Run execution process for {victim} was terminated by signal 9 (SIGKILL)."
    said = production.messages(victim)
    assert any(died in m for m in said), said  # "[DagsterApiServer] Run execution ..."
    # The retry attached to the job the dead run submitted: still the same three jobs.
    assert production.batch_states().count("BATCH_STATE_RUNNING") == len(CHARACTERS)

    # Release the jobs (each time one is held) until every run has ended and every image is in S3.
    def all_done() -> list[dict[str, Any]] | None:
        if "BATCH_STATE_RUNNING" in production.batch_states():
            production.release_batch_jobs()
        runs = production.pipeline_runs()
        ended = runs and not any(r["status"] in IN_FLIGHT for r in runs)
        return runs if ended and production.images() == set(CHARACTERS) else None

    runs = production.wait_for(all_done, "every character's image", timeout=180)
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
