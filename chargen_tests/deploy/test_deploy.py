"""The production profile's files: Dagster's own schema accepts the instance, and the compose
file, the Helm values and the image agree on the production settings, and the image installs
the versions the tests ran with. (The image and its Docker launcher run for real, under Podman, in
e2e/test_production_in_containers.py; README "Deploying" says what could not run.)"""

from __future__ import annotations

import contextlib
import shutil
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from dagster._core.instance.ref import InstanceRef

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_production_instance_is_postgres_queued_monitored_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")
    for name in ("DAGSTER_PG_HOST", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"):
        monkeypatch.setenv(name, "x")
    ref = InstanceRef.from_dir(str(tmp_path))  # validates against Dagster's instance schema
    assert ref.storage_data is not None and ref.storage_data.class_name == "DagsterPostgresStorage"
    assert ref.run_coordinator_data is not None
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"
    launcher = ref.run_launcher_data.rehydrate(as_type=object) if ref.run_launcher_data else None
    assert type(launcher).__name__ == "DockerRunLauncher"
    assert getattr(launcher, "supports_check_run_worker_health", False)  # a dead worker is seen
    settings = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    assert settings["run_monitoring"]["enabled"] and settings["run_retries"]["enabled"]
    assert settings["run_retries"]["retry_on_asset_or_op_failure"] is False
    assert "pools" not in str(settings.get("concurrency", ""))  # no lock between runs
    # What decides at load whether the emulator may answer reaches each run's container too:
    # otherwise a run worker would refuse definitions its code location accepted.
    deciding = {"CHARGEN_PROFILE", "GEMINI_API_KEY", "GEMINI_BASE_URL", "CHARGEN_ALLOW_EMULATOR"}
    assert deciding <= set(settings["run_launcher"]["config"]["env_vars"])


def test_compose_helm_and_image_run_the_production_profile() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "chargen-code", "webserver", "daemon"} <= set(services)
    env = services["chargen-code"]["environment"]
    assert env["CHARGEN_PROFILE"] == "production"
    # The launcher refuses every run ("Tried to load environment variable ... but it was not
    # set") unless the daemon has each variable it passes to run containers, even empty.
    launcher = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())["run_launcher"]
    assert set(launcher["config"]["env_vars"]) <= set(services["daemon"]["environment"])
    assert launcher["config"]["network"] == compose["networks"]["chargen"]["name"]
    # MinIO starts empty: a one-shot service makes the bucket, and the S3 API is published so
    # sketches can be put in the inbox from the host.
    bucket = _default(env["CHARGEN_INBOX"]).removeprefix("s3://").split("/")[0]
    assert _default(env["CHARGEN_STORAGE"]).startswith(f"s3://{bucket}/")
    assert f"mb --ignore-existing minio/{bucket}" in services["bucket"]["entrypoint"]
    # Published on loopback unless asked: the UI has no login and launches paid runs.
    assert (
        "${CHARGEN_BIND_ADDRESS:-127.0.0.1}:${MINIO_API_PORT:-9000}:9000"
        in (services["minio"]["ports"])
    )
    assert services["webserver"]["ports"] == [
        "${CHARGEN_BIND_ADDRESS:-127.0.0.1}:${CHARGEN_UI_PORT:-3000}:3000"
    ]
    # chargen's S3 keys are MinIO's root user: one pair to set, for MinIO or for AWS.
    assert services["minio"]["environment"]["MINIO_ROOT_USER"] == env["AWS_ACCESS_KEY_ID"]
    assert services["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == env["AWS_SECRET_ACCESS_KEY"]
    # Unset, the MinIO service; set and empty (`${VAR-default}`, no colon), AWS S3.
    assert env["CHARGEN_S3_ENDPOINT_URL"] == "${CHARGEN_S3_ENDPOINT_URL-http://minio:9000}"
    assert env["GEMINI_API_KEY"].startswith("${GEMINI_API_KEY:?")  # compose refuses without it
    values = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (code,) = values["dagster-user-deployments"]["deployments"]
    assert {"name": "CHARGEN_PROFILE", "value": "production"} in code["env"]
    assert code["dagsterApiGrpcArgs"] == ["-m", "chargen_assets.definitions"]
    # Run pods get the location's image, variables and secrets; the image by a fixed tag; the
    # database password is given at install, not the chart's default.
    assert code["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert (
        code["image"]["tag"] not in ("latest", "")
        and {"name": "chargen-secrets"} in code["envSecrets"]
    )
    assert "postgresqlPassword" not in values["postgresql"]
    readme = (DEPLOY.parent / "README.md").read_text()
    assert "--set postgresql.postgresqlPassword=" in readme  # given at install instead
    assert "deployments[0].image.tag'=" in readme
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert '-c constraints.txt ".[deploy]"' in dockerfile
    assert "chargen_assets.definitions" in dockerfile
    assert "ENV CHARGEN_PROFILE=production" in dockerfile
    assert "ENV MALLOC_ARENA_MAX=2" in dockerfile  # README "Scale"


def test_the_image_installs_the_versions_the_tests_ran_with() -> None:
    """deploy/constraints.txt pins what the image installs; `make install` uses it too, so every
    package the tests import is the image's version; and Dagster's chart is that version."""
    pinned = dict(
        line.split("==")
        for line in (DEPLOY / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert {"dagster", "dagster-postgres", "dagster-docker", "dagster-k8s"} <= set(pinned)
    for name, version in pinned.items():
        with contextlib.suppress(metadata.PackageNotFoundError):  # only in the image (k8s)
            assert metadata.version(name) == version, name
    readme = (DEPLOY.parent / "README.md").read_text()
    assert f"dagster/dagster --version {pinned['dagster']} " in readme


def _default(value: str) -> str:
    """The default of a compose file's `${VARIABLE:-default}`, or the value itself."""
    return value.split(":-", 1)[1].removesuffix("}") if value.startswith("${") else value
