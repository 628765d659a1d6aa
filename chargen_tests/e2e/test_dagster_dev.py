"""End to end: a real `dagster dev` (webserver + daemon) picks up an inbox and makes images.

Nothing is called directly: the daemon's inbox sensor adds the partitions and launches the run,
a run worker process executes it against the embedded emulator, and we read the outcome back
through the webserver's GraphQL API and the instance's storage.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _tag(run: dict[str, Any], key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


@contextlib.contextmanager
def _instance(home: Path) -> Iterator[dg.DagsterInstance]:
    """The `dagster dev` instance, opened as its processes open it: the project's dagster.yaml
    finds its event log by DAGSTER_HOME."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        with dg.DagsterInstance.get() as instance:
            yield instance


def _restore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def _dagster_dev(tmp_path: Path, **settings: str) -> Iterator[tuple[int, Path, Path]]:
    """A real `dagster dev` on the project's dagster.yaml over three fresh characters."""
    inbox = tmp_path / "inbox"
    for name, colour in {
        "amber": (230, 160, 20),
        "basalt": (50, 50, 60),
        "coral": (240, 110, 100),
    }.items():
        (inbox / name).mkdir(parents=True)
        Image.new("RGB", (64, 96), colour).save(inbox / name / "sketch.png")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "CHARGEN_INBOX": str(inbox),
        "CHARGEN_STORAGE": str(tmp_path / "storage"),
        "CHARGEN_EMULATOR_STATE": str(tmp_path / "emulator"),
        "CHARGEN_EMULATOR_PENDING_SECONDS": "0.2",
        "CHARGEN_EMULATOR_RUNNING_SECONDS": "0.2",
        "CHARGEN_POLL_SECONDS": "0.2",
        "CHARGEN_SENSOR_INTERVAL_SECONDS": "5",
        **settings,
    }
    env.pop("GEMINI_API_KEY", None)
    log = (tmp_path / "dagster-dev.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_restore_sigint,
    )
    try:
        yield port, home, tmp_path
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path, Path]]:
    """One `dagster dev` for the module's quick tests: starting one takes several seconds."""
    with _dagster_dev(tmp_path_factory.mktemp("dagster-dev")) as running:
        yield running


def test_inbox_to_images_through_webserver_and_daemon(dagster_dev: tuple[int, Path, Path]) -> None:
    port, home, tmp_path = dagster_dev
    deadline = time.monotonic() + 300
    done: set[str] = set()
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        time.sleep(3)
        try:
            answer = _graphql(
                port,
                """{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }""",
            )
        except OSError:
            continue  # the webserver is still starting
        runs = answer["data"]["runsOrError"]["results"]
        finished = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
        if runs and len(finished) == len(runs):
            with _instance(home) as instance:
                done = set(instance.get_materialized_partitions(dg.AssetKey("character_image")))
            if done == {"amber", "basalt", "coral"}:
                break
    log = (tmp_path / "dagster-dev.log").read_text(errors="replace")
    assert done == {"amber", "basalt", "coral"}, log[-4000:]
    pipeline_runs = [r for r in runs if _tag(r, "dagster/sensor_name") == "inbox_sensor"]
    assert len(pipeline_runs) == 1 and pipeline_runs[0]["status"] == "SUCCESS"
    assert sorted((tmp_path / "storage" / "chargen" / "character_image").glob("*.png"))
    nodes = _graphql(port, "{ assetNodes { assetKey { path } } }")["data"]["assetNodes"]
    keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {
        "source_image",
        "character_analysis",
        "character_prompt",
        "character_image",
        "character_catalog",
    } <= keys


BACKFILL = """
mutation {
  launchPartitionBackfill(backfillParams: {
    title: "whole cast"
    partitionNames: ["amber", "basalt", "coral"]
    assetSelection: [{path: ["source_image"]}, {path: ["character_analysis"]},
                     {path: ["character_prompt"]}, {path: ["character_image"]}]
  }) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}
"""


def test_a_ui_backfill_of_the_cast_is_one_run(dagster_dev: tuple[int, Path, Path]) -> None:
    port, home, tmp_path = dagster_dev
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait for the sensor to register the partitions
        time.sleep(3)
        try:
            with _instance(home) as instance:
                if len(instance.get_dynamic_partitions("characters")) == 3:
                    break
        except Exception:
            continue
    launched = _graphql(port, BACKFILL)["data"]["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    status = ""
    while time.monotonic() < deadline:
        time.sleep(3)
        answer = _graphql(
            port,
            f'{{ partitionBackfillOrError(backfillId: "{backfill_id}") '
            "{ ... on PartitionBackfill { status } } }",
        )
        status = answer["data"]["partitionBackfillOrError"]["status"]
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
            break
    log = (tmp_path / "dagster-dev.log").read_text(errors="replace")
    assert status.startswith("COMPLETED"), (status, log[-4000:])
    runs = _graphql(
        port, "{ runsOrError { ... on Runs { results { status tags { key value } } } } }"
    )
    backfill_runs = [
        r
        for r in runs["data"]["runsOrError"]["results"]
        if _tag(r, "dagster/backfill") == backfill_id
    ]
    assert len(backfill_runs) == 1 and backfill_runs[0]["status"] == "SUCCESS"


def _runs(port: int) -> list[dict[str, Any]]:
    try:
        answer = _graphql(
            port,
            "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }",
        )
    except OSError:
        return []  # the webserver is still starting
    runs: list[dict[str, Any]] = answer["data"]["runsOrError"]["results"]
    return runs


def _wait_for(condition: Any, what: str, log: Path, timeout: float = 240) -> Any:
    """Poll until `condition()` gives something truthy (each poll is one real query)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(
        f"timed out waiting for {what}:\n{log.read_text(errors='replace')[-4000:]}"
    )


def test_a_killed_run_worker_is_retried_by_dagster_and_nothing_is_paid_twice(
    tmp_path: Path,
) -> None:
    from chargen_resources.emulator.billing import Billing
    from chargen_resources.gemini.ledger import Claim

    # Jobs stay RUNNING for a while, so the worker dies mid-poll.
    with _dagster_dev(tmp_path, CHARGEN_EMULATOR_RUNNING_SECONDS="6") as (port, home, root):
        log = root / "dagster-dev.log"
        claims = root / "storage" / "chargen" / "_ledger" / "claims" / "character_analysis"

        def worker_pid() -> int | None:
            for path in claims.glob("*/000000.json"):
                return Claim.model_validate_json(path.read_bytes()).claimant.pid
            return None

        def job_running() -> bool:
            jobs = list((root / "storage" / "chargen" / "_ledger" / "jobs").glob("*.json"))
            return any('"status": "submitted"' in j.read_text() for j in jobs)

        pid = _wait_for(worker_pid, "the inbox sensor's run to claim its analyses", log)
        _wait_for(job_running, "the analysis batch job to be submitted", log)
        os.kill(pid, signal.SIGKILL)

        def settled() -> list[dict[str, Any]]:
            runs = _runs(port)
            done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
            retried = any(_tag(r, "dagster/parent_run_id") for r in runs)
            return runs if runs and retried and len(done) == len(runs) else []

        runs = _wait_for(settled, "Dagster to retry the killed run to the end", log, timeout=300)
        pipeline_runs = [r for r in runs if _tag(r, "dagster/asset_partition_range_start")]
        statuses = sorted(r["status"] for r in pipeline_runs)
        assert statuses == ["FAILURE", "SUCCESS"], runs  # the killed run, and its retry
        with _instance(home) as instance:
            done = set(instance.get_materialized_partitions(dg.AssetKey("character_image")))
        assert done == {"amber", "basalt", "coral"}
        billing = Billing(root / "emulator").summary()
        assert billing.repeated == {} and billing.paid == billing.unique == 6, billing
