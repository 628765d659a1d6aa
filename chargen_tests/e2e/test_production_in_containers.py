"""End to end with deploy/'s own run launcher: every run a container of deploy/'s image.

The deployment of test_production_on_postgres.py (a code server, webserver and daemon on deploy/'s
files, Postgres, S3 on moto, the emulator holding batch jobs), but with the DockerRunLauncher of
deploy/dagster.yaml kept: the daemon launches each run as a container of the image built from
deploy/Dockerfile (fixtures/containers.py: podman, serving Docker's API to the launcher), and the
run worker inside it reads the instance from the `dagster.yaml` baked into that image. A run's
container is killed with SIGKILL while it polls its batch job; Dagster's run monitoring asks the
launcher, the launcher finds the container exited, the run is failed and retried in a new
container, which attaches to the job the dead one submitted; every request is paid once.

Two changes to deploy/dagster.yaml, both the launcher's: its network is the host's (the compose
file's `chargen` network does not exist here; Postgres, S3 and the emulator listen on this host's
loopback), and it passes the test's quick polling to the run containers. The emulator is reached
with a key through GEMINI_BASE_URL, which deploy's launcher passes on like GEMINI_API_KEY.

The last test brings deploy/docker-compose.yaml up as it is, under podman-compose
(fixtures/containers.py, `compose_stack`): its Postgres, MinIO and bucket services, code
location, webserver and daemon, the Docker socket it mounts, each run a container on its
network; compose-emulator.yaml adds the Gemini emulator, reached through the file's own
GEMINI_BASE_URL. The images Docker Hub would give are stand-ins built here (.ci/standins/), no
registry being reachable. Sketches go in through MinIO's published port; every character's image
comes out in the bucket; every request is paid once.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from chargen_resources.emulator import EmulatorSettings
from chargen_tests.fixtures.containers import ContainerEngine, Stack
from chargen_tests.fixtures.production import (
    HOLDING_EMULATOR,
    RANGE_START,
    Production,
    StartProduction,
    deploy_instance,
    tag,
)

pytestmark = pytest.mark.e2e
CAST = ("amber", "basalt")
COLOURS = {"amber": (230, 160, 20), "basalt": (50, 50, 60)}


@pytest.fixture
def emulator_settings() -> EmulatorSettings:
    return HOLDING_EMULATOR


def container_instance() -> dict[str, Any]:
    settings = deploy_instance()
    launcher = settings["run_launcher"]
    assert launcher["class"] == "DockerRunLauncher"  # what runs the containers: kept
    launcher["config"]["network"] = "host"
    launcher["config"]["env_vars"] += ["CHARGEN_POLL_SECONDS"]
    return settings


@pytest.fixture
def production(
    start_production: StartProduction, container_engine: ContainerEngine
) -> Iterator[Production]:
    env = {
        "DOCKER_HOST": container_engine.docker_host,  # the launcher's Docker: podman here
        "DAGSTER_CURRENT_IMAGE": container_engine.image,  # as the compose file gives it
        "GEMINI_API_KEY": "test-key",
        "CHARGEN_MAX_RUN_COST_USD": "50",
        "CHARGEN_MONTHLY_BUDGET_USD": "",  # listed for the launcher; empty is "no budget"
    }
    try:
        with start_production(container_instance(), env=env) as running:
            yield running
    finally:  # after the daemon stopped: nothing launches another meanwhile
        container_engine.remove_run_containers()


def test_each_run_is_a_container_and_a_killed_one_is_retried_by_run_monitoring(
    production: Production, container_engine: ContainerEngine
) -> None:
    first = production.drop_one_by_one(CAST)

    def both_polling() -> list[dict[str, Any]] | None:
        running = [c for c in container_engine.run_containers() if c["state"] == "running"]
        submitted = production.batch_states().count("BATCH_STATE_RUNNING") == len(CAST)
        return running if submitted and len(running) == len(CAST) else None

    containers = production.wait_for(
        both_polling, "a running container per run, each polling its batch job", timeout=180
    )
    assert {c["run_id"] for c in containers} == {run["runId"] for run in first.values()}
    for run in first.values():
        said = production.messages(run["runId"])
        launched = "Launching run in a new container"
        assert any(launched in m and container_engine.image in m for m in said), said

    victim = first["amber"]["runId"]
    (container,) = [c["id"] for c in containers if c["run_id"] == victim]
    container_engine.podman("kill", "--signal", "KILL", container)

    # Run monitoring polls every 30 s (deploy's setting); then the retry's container starts.
    retry = production.failed_and_retried(victim, timeout=180)
    assert tag(retry, RANGE_START) == "amber"
    said = production.messages(victim)
    assert any("Container status is exited" in m for m in said), said  # the launcher's check
    assert production.batch_states().count("BATCH_STATE_RUNNING") == len(CAST)  # attached

    runs = production.wait_for(
        lambda: production.all_done(set(CAST)), "every character's image", timeout=240
    )
    by_id = {r["runId"]: r["status"] for r in runs}
    assert by_id == {
        victim: "FAILURE",
        retry["runId"]: "SUCCESS",
        first["basalt"]["runId"]: "SUCCESS",
    }, runs
    assert any("attaching" in m for m in production.messages(retry["runId"]))
    run_containers = {c["run_id"] for c in container_engine.run_containers()}
    assert set(by_id) <= run_containers  # the retry ran in a container of its own too
    billing = production.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CAST), billing


def test_the_compose_file_brings_up_a_deployment_that_makes_the_cast(compose_stack: Stack) -> None:
    s3 = compose_stack.s3()
    # The bucket service made the bucket; sketches go in as the README says (S3 port 9000).
    compose_stack.wait_for(lambda: s3.head_bucket(Bucket="chargen"), "the bucket service", 180)
    for character, colour in COLOURS.items():
        sketch = io.BytesIO()
        Image.new("RGB", (64, 96), colour).save(sketch, format="PNG")
        s3.put_object(Bucket="chargen", Key=f"inbox/{character}/sketch.png", Body=sketch.getvalue())

    def images() -> set[str] | None:
        listed = s3.list_objects_v2(Bucket="chargen", Prefix="results/character_image/")
        names = {item["Key"].rsplit("/", 1)[-1] for item in listed.get("Contents", [])}
        made = {name.removesuffix(".png") for name in names if name.endswith(".png")}
        return made if set(CAST) <= made else None

    compose_stack.wait_for(images, "every character's image in the bucket", 300)

    def statuses() -> list[str] | None:
        runs = compose_stack.graphql("{ runsOrError { ... on Runs { results { status } } } }")
        found = [run["status"] for run in runs["runsOrError"]["results"]]
        return found if found and not set(found) & {"QUEUED", "STARTING", "STARTED"} else None

    assert set(compose_stack.wait_for(statuses, "every run to end", 120)) == {"SUCCESS"}
    billing = compose_stack.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CAST), billing
