"""deploy/docker-compose.yaml brought up as it is, under podman-compose, end to end.

The compose file's own services, networks, volumes, variables and Docker socket: Postgres, MinIO
and the one-shot service that makes its bucket, the code location, the webserver and the daemon,
whose DockerRunLauncher starts each run as a container of the image on the compose network. What
differs from a studio's host: the images Docker Hub would give (postgres:15, minio/minio,
minio/mc, and python:3.11-slim under chargen's image) are stand-ins built here (.ci/containers,
.ci/standins/: Debian's PostgreSQL 15, moto's S3 server on MinIO's port, an `mc` that does the
two commands the file runs), since no image registry is reachable; Docker is Podman, serving
Docker's API on the socket the file mounts; and compose-emulator.yaml adds the Gemini emulator,
reached through the file's own GEMINI_BASE_URL. Sketches go into the inbox as the README says,
through MinIO's published S3 port; the characters' images come out in the bucket; every request
is paid once (the emulator's billing, on a published port)."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from PIL import Image

from chargen_tests.fixtures.containers import REPO, ContainerEngine, build

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent
STANDINS = REPO / ".ci" / "standins"
COMPOSE = [sys.executable, "-m", "podman_compose", "-p", "chargen-compose-test"]
FILES = [
    "-f",
    str(REPO / "deploy" / "docker-compose.yaml"),
    "-f",
    str(HERE / "compose-emulator.yaml"),
]
CAST = {"amber": (230, 160, 20), "basalt": (50, 50, 60)}
T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    ports: dict[str, int]
    env: dict[str, str]

    def s3(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{self.ports['MINIO_API_PORT']}",
            aws_access_key_id="chargen",
            aws_secret_access_key="chargen-secret",
            region_name="us-east-1",
        )

    def graphql(self, query: str) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.ports['CHARGEN_UI_PORT']}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            data: dict[str, Any] = json.loads(answer.read())["data"]
        return data

    def billing(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.ports['EMULATOR_PORT']}/emulator/billing"
        with urllib.request.urlopen(url, timeout=30) as answer:
            summary: dict[str, Any] = json.loads(answer.read())
        return summary

    def logs(self) -> str:
        done = subprocess.run(
            [*COMPOSE, *FILES, "logs"], env=self.env, capture_output=True, text=True, check=False
        )
        return (done.stdout + done.stderr)[-6000:]

    def wait_for(self, condition: Callable[[], T | None], what: str, timeout: float) -> T:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Servers still starting: refused connections, a bucket not made yet.
            with contextlib.suppress(OSError, BotoCoreError, ClientError, KeyError):
                if value := condition():
                    return value
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")


@pytest.fixture
def stack(container_engine: ContainerEngine, tmp_path: Path) -> Iterator[Stack]:
    # The images the file names, in the tests' own image store.
    container_engine.podman("tag", container_engine.image, "localhost/chargen:latest")
    for name, tag in (
        ("postgres", "docker.io/library/postgres:15"),
        ("minio", "docker.io/minio/minio:latest"),
        ("mc", "docker.io/minio/mc:latest"),
    ):
        build(
            container_engine.env, tmp_path, tag, STANDINS / name, STANDINS / name / "Containerfile"
        )
    ports = {
        name: _free_port()
        for name in ("CHARGEN_UI_PORT", "MINIO_API_PORT", "MINIO_CONSOLE_PORT", "EMULATOR_PORT")
    }
    env = {
        **container_engine.env,
        **{name: str(port) for name, port in ports.items()},
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": "http://emulator:8000",
        "DOCKER_SOCKET": container_engine.docker_host.removeprefix("unix://"),
    }
    running = Stack(ports, env)
    up = subprocess.run(
        [*COMPOSE, *FILES, "up", "-d"], env=env, capture_output=True, text=True, check=False
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield running
    finally:
        subprocess.run(
            [*COMPOSE, *FILES, "down", "-v", "-t", "5"], env=env, capture_output=True, check=False
        )


def test_the_compose_file_brings_up_a_deployment_that_makes_the_cast(stack: Stack) -> None:
    s3 = stack.s3()
    # The bucket service made the bucket; sketches go in as the README says (S3 port 9000).
    stack.wait_for(lambda: s3.head_bucket(Bucket="chargen"), "the bucket service", 180)
    for character, colour in CAST.items():
        sketch = io.BytesIO()
        Image.new("RGB", (64, 96), colour).save(sketch, format="PNG")
        s3.put_object(Bucket="chargen", Key=f"inbox/{character}/sketch.png", Body=sketch.getvalue())

    def images() -> set[str] | None:
        listed = s3.list_objects_v2(Bucket="chargen", Prefix="results/character_image/")
        names = {item["Key"].rsplit("/", 1)[-1] for item in listed.get("Contents", [])}
        made = {name.removesuffix(".png") for name in names if name.endswith(".png")}
        return made if set(CAST) <= made else None

    stack.wait_for(images, "every character's image in the bucket", 300)

    def statuses() -> list[str] | None:
        runs = stack.graphql("{ runsOrError { ... on Runs { results { status } } } }")
        found = [run["status"] for run in runs["runsOrError"]["results"]]
        return found if found and not set(found) & {"QUEUED", "STARTING", "STARTED"} else None

    assert set(stack.wait_for(statuses, "every run to end", 120)) == {"SUCCESS"}
    billing = stack.billing()
    assert billing["repeated"] == {}, billing
    assert billing["paid"] == billing["unique"] == 2 * len(CAST), billing
