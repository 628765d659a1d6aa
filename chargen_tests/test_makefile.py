"""The Makefile's promises that are not a whole demo or server: the inbox the demo seeds, the
paths `make dev` hands to Dagster, and a Postgres server of the user's own left alone.

Each runs the real `make` on a copy of the Makefile in a temporary folder (or prints `make dev`'s
command with `-n`), never the demo or a server."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _make(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(folder), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return done.stdout


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir(parents=True)
    shutil.copy(REPO / "Makefile", folder / "Makefile")
    (folder / "samples").symlink_to(REPO / "samples")
    return folder


def _listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def test_the_demo_seeds_a_missing_or_empty_inbox_and_never_touches_a_used_one(
    tmp_path: Path,
) -> None:
    samples = _listing(REPO / "samples" / "inbox")
    missing = _project(tmp_path / "missing")
    _make(missing, "seed")
    assert _listing(missing / "inbox") == samples

    empty = _project(tmp_path / "empty")
    (empty / "inbox").mkdir()  # as `make dev` leaves it when run first
    _make(empty, "seed")
    assert _listing(empty / "inbox") == samples

    used = _project(tmp_path / "used")
    (used / "inbox" / "mine").mkdir(parents=True)
    (used / "inbox" / "mine" / "front.png").write_bytes(b"a user's sketch")
    _make(used, "seed")
    assert _listing(used / "inbox") == {"mine", "mine/front.png"}


def test_make_dev_hands_dagster_absolute_paths_and_keeps_s3_locations() -> None:
    printed = _make(
        REPO,
        "-n",
        "dev",
        env={
            "CHARGEN_INBOX": "s3://studio/inbox",
            "CHARGEN_STORAGE": "results",
            "CHARGEN_PROMPT_TEMPLATE": "prompts/character_image.txt",
        },
    )
    # Dagster runs from the instance folder: a relative path would be read from there.
    assert "CHARGEN_INBOX=s3://studio/inbox " in printed
    assert f"CHARGEN_STORAGE={REPO}/results " in printed
    assert f"CHARGEN_PROMPT_TEMPLATE={REPO}/prompts/character_image.txt " in printed
    assert f"CHARGEN_EMULATOR_STATE={REPO}/.chargen/emulator " in printed
    assert printed.rstrip().endswith("-h 127.0.0.1 -p 3000")
    assert _make(REPO, "-n", "dev", "PORT=3311").rstrip().endswith("-p 3311")


def test_a_postgres_server_of_the_users_own_is_used_as_it_is(tmp_path: Path) -> None:
    folder = _project(tmp_path)
    ran = folder / "setup-ran"
    setup = folder / ".ci" / "postgres"
    setup.parent.mkdir()
    setup.write_text(f"#!/bin/sh\ntouch {ran}\n")
    setup.chmod(0o755)
    _make(folder, "postgres", env={"CHARGEN_TEST_POSTGRES_URL": "postgresql://u:p@db:5432"})
    assert not ran.exists()
    without = {k: v for k, v in os.environ.items() if k != "CHARGEN_TEST_POSTGRES_URL"}
    subprocess.run(["make", "-C", str(folder), "postgres"], check=True, env=without)
    assert ran.exists()  # without one, the project's own setup installs and starts one
