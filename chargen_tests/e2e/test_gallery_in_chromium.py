"""The gallery as a person opens it: headless Chromium (Debian's `chromium`, which `.ci/run`
installs when missing) loads `gallery/index.html` from storage, and every picture loads."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import dagster as dg
import pytest
from PIL import Image

from chargen_assets.catalog import character_catalog
from chargen_assets.pipeline import character_pipeline
from chargen_assets.storage import ChargenIOManager
from chargen_resources.characters.catalog import CharacterState
from chargen_resources.characters.gallery import GALLERY_PAGE, gallery_card, render_gallery
from chargen_tests.factories import generated_image
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
    "--window-size=1280,900",
]
# Headless Chromium loads lazy images at once; a desktop browser waits until they near the screen.
AS_A_DESKTOP_BROWSER = "--blink-settings=lazyLoadEnabled=true"


def _rendered_dom(page: Path, profile: Path, *extra_flags: str) -> str:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Chromium is missing: `apt-get install chromium` (.ci/run does it)"
    done = subprocess.run(
        [
            chromium,
            *CHROMIUM_FLAGS,
            *extra_flags,
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
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
    # Every picture fetched (headless Chromium's own way), so every link is checked.
    dom = _rendered_dom(page, tmp_path / "chromium-profile")
    states = re.findall(r'<img[^>]*data-load="(\w+)"', dom)
    finals = re.findall(r'<img class="final"', dom)
    assert len(finals) == len(COLOURS) - 1  # ember has no image
    # Each the small JPEG kept beside its take, linked to the full image.
    thumbnails = re.findall(r'<img class="final"[^>]*src="[^"]*/takes/\d+\.jpg"', dom)
    assert len(thumbnails) == len(finals), finals
    assert states and set(states) == {"ok"}, states  # sketches and images, every one loaded
    assert len(states) == len(finals) + len(COLOURS)  # one sketch per character
    sections = re.findall(r'<section class="card (\w+)" id="([\w-]+)"', dom)
    assert sections[0] == ("failed", "ember")
    assert "IMAGE_SAFETY" in dom


def test_a_long_gallery_fetches_only_the_pictures_near_the_screen(tmp_path: Path) -> None:
    """A cast of thousands is one page: opening it must not fetch every image at once."""
    cast = 300
    folder = tmp_path / "chargen" / "character_image"
    folder.mkdir(parents=True)
    states = []
    for index in range(cast):
        name = f"hero-{index:03d}"
        Image.new("RGB", (96, 160), (index % 256, 90, 140)).save(folder / f"{name}.png")
        image = generated_image(character=name, image_key=f"chargen/character_image/{name}.png")
        states.append(CharacterState(character=name, image=image))
    page = tmp_path / "chargen" / GALLERY_PAGE
    page.parent.mkdir()
    page.write_text(render_gallery([gallery_card(s, "chargen") for s in states], tmp_path.as_uri()))
    dom = _rendered_dom(page, tmp_path / "chromium-profile", AS_A_DESKTOP_BROWSER)
    finals = re.findall(r'<img class="final"[^>]*>', dom)
    loaded = [tag for tag in finals if 'data-load="ok"' in tag]
    assert len(finals) == cast
    assert 'data-load="error"' not in dom
    # The first screens at most, not the whole cast (how many of those load within the
    # page's virtual time varies with the machine's load).
    assert len(loaded) < cast // 5, len(loaded)
