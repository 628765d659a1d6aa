"""The gallery as a person opens it: headless Chromium (Debian's `chromium`, which `.ci/run`
installs when missing) loads `gallery/index.html` from storage, and every picture loads."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest

from chargen_assets.catalog import character_catalog
from chargen_assets.pipeline import character_pipeline
from chargen_assets.storage import ChargenIOManager
from chargen_tests.fixtures.platform import COLOURS, Platform

pytestmark = pytest.mark.e2e

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-file-access-from-files",
    "--virtual-time-budget=10000",
]


def _rendered_dom(page: Path, profile: Path) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `apt-get install chromium` (.ci/run does it)"
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_gallery_shows_every_picture_and_the_failed_character_first(
    platform: Platform, tmp_path: Path
) -> None:
    (platform.inbox / "ember" / "character.yaml").write_text("notes: a gory executioner\n")
    assert not platform.run(list(COLOURS)).success
    resources = {**platform.resources, "io_manager": ChargenIOManager(storage=platform.storage())}
    built = dg.materialize(
        [character_pipeline, character_catalog],
        selection=[character_catalog.key],
        instance=platform.instance,
        resources=resources,
    )
    assert built.success
    page = platform.storage_root / "chargen" / "gallery" / "index.html"
    dom = _rendered_dom(page, tmp_path / "chromium-profile")
    states = re.findall(r'<img[^>]*data-load="(\w+)"', dom)
    finals = re.findall(r'<img class="final"', dom)
    assert len(finals) == len(COLOURS) - 1  # ember has no image
    assert states and set(states) == {"ok"}, states  # sketches and images, every one loaded
    assert len(states) == len(finals) + len(COLOURS)  # one sketch per character
    sections = re.findall(r'<section class="card (\w+)" id="([\w-]+)"', dom)
    assert sections[0] == ("failed", "ember")
    assert "IMAGE_SAFETY" in dom
