"""`chargen estimate` as a user types it: a table per stage, nothing sent, nothing written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

from chargen_resources.emulator import RunningEmulator

REPO = Path(__file__).resolve().parents[2]


def _estimate(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`chargen estimate` as a user runs it, with only `env` in its environment."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "chargen"), "estimate", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_estimate_prints_the_price_of_the_samples_and_touches_nothing(
    tmp_path: Path, emulator: RunningEmulator
) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(REPO / "samples" / "inbox", inbox)
    before = sorted(p.relative_to(inbox) for p in inbox.rglob("*"))
    env = {
        "PATH": str(Path(sys.executable).parent),
        "CHARGEN_STORAGE": str(tmp_path / "storage"),
        "GEMINI_BASE_URL": emulator.base_url,
    }
    done = _estimate("--inbox", str(inbox), env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("10 characters in local folder")
    analysis = next(line for line in lines if line.startswith("character_analysis"))
    image = next(line for line in lines if line.startswith("character_image"))
    assert analysis.split()[2:5] == ["10", "0", "0"] and image.split()[2:5] == ["10", "0", "0"]
    total = next(line for line in lines if line.startswith("total")).split()
    batch, interactive = float(total[-2]), float(total[-1])
    assert 0.5 < batch < 1.0 and abs(interactive - 2 * batch) <= 0.02
    assert not (tmp_path / "storage").exists()
    assert sorted(p.relative_to(inbox) for p in inbox.rglob("*")) == before
    with urllib.request.urlopen(f"{emulator.base_url}/emulator/billing", timeout=10) as answer:
        assert json.loads(answer.read())["paid"] == 0


def test_an_unknown_stage_or_character_is_a_clear_error(tmp_path: Path) -> None:
    env = {"CHARGEN_STORAGE": str(tmp_path / "storage")}
    for extra, expected in (
        (["--select", "character_imag"], "unknown stage(s) character_imag"),
        (["--characters", "nobody"], "not in the inbox"),
        (["--characters", "crimson-knigth"], "crimson-knigth (did you mean crimson-knight?)"),
        (["--characters", ""], "--characters names no character"),
    ):
        done = _estimate("--inbox", str(REPO / "samples" / "inbox"), *extra, env=env)
        assert done.returncode == 2 and expected in done.stderr, done.stderr


def test_a_character_can_be_named_by_its_folder_as_written(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(REPO / "samples" / "inbox" / "ink-ronin", inbox / "Mon Héros ✨")
    env = {"CHARGEN_STORAGE": str(tmp_path / "storage")}
    done = _estimate("--inbox", str(inbox), "--characters", "Mon Héros ✨", env=env)
    assert done.returncode == 0, done.stderr
    assert "character_analysis would send: mon-heros-" in done.stdout


def test_a_style_folder_not_read_yet_is_priced_as_the_inbox_has_it(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(REPO / "samples" / "inbox" / "ink-ronin", inbox / "ink-ronin")
    shutil.copytree(REPO / "samples" / "style", inbox / "_style")
    storage = tmp_path / "storage"
    done = _estimate("--inbox", str(inbox), env={"CHARGEN_STORAGE": str(storage)})
    assert done.returncode == 0, done.stderr
    assert "style: the inbox has a _style/ folder but cast_style has not been materialized " in (
        done.stdout
    )
    assert "priced with it as the inbox has it now" in done.stdout
    assert not storage.exists()  # the guide was read for the price, not stored
    (inbox / "_style" / "style.yaml").write_text("palette: [teal\n")
    done = _estimate("--inbox", str(inbox), env={"CHARGEN_STORAGE": str(storage)})
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith("chargen estimate: the inbox has a _style/ folder but")
    assert "cannot be read as it is" in done.stderr and "Traceback" not in done.stderr


def test_an_s3_inbox_without_credentials_is_said_plainly(tmp_path: Path) -> None:
    nowhere = str(tmp_path / "none")  # no credentials file, no profile, no instance role
    done = _estimate(
        "--inbox",
        "s3://studio/x",
        env={
            "CHARGEN_STORAGE": str(tmp_path / "storage"),
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "AWS_CONFIG_FILE": nowhere,
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr.startswith("chargen estimate: no AWS credentials were found for S3")
    assert "AWS_ACCESS_KEY_ID" in done.stderr and "Traceback" not in done.stderr


def test_an_unknown_model_is_priced_as_unknown_not_as_free(tmp_path: Path) -> None:
    done = _estimate(
        "--inbox",
        str(REPO / "samples" / "inbox"),
        "--image-model",
        "gemini-9-image",
        env={"CHARGEN_STORAGE": str(tmp_path / "storage")},
    )
    assert done.returncode == 0, done.stderr
    image_row = next(line for line in done.stdout.splitlines() if "gemini-9-image" in line)
    assert image_row.split()[-2:] == ["0.00+?", "0.00+?"]
    assert "no list price is recorded for gemini-9-image (10 requests)" in done.stdout


def test_what_in_the_inbox_is_not_a_character_is_listed(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    shutil.copytree(REPO / "samples" / "inbox" / "ink-ronin", inbox / "ink-ronin")
    (inbox / "villain.gif").write_bytes(b"GIF89a")
    done = _estimate("--inbox", str(inbox), env={"CHARGEN_STORAGE": str(tmp_path / "storage")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("inbox: not characters: villain.gif: ")


def test_results_inside_the_inbox_are_refused(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    done = _estimate("--inbox", str(inbox), env={"CHARGEN_STORAGE": str(inbox)})
    assert done.returncode == 2 and "overlap" in done.stderr and "Traceback" not in done.stderr


def test_the_cost_guards_are_shown_against_the_selection(tmp_path: Path) -> None:
    env = {
        "CHARGEN_STORAGE": str(tmp_path / "storage"),
        "CHARGEN_MAX_RUN_COST_USD": "0.05",
        "CHARGEN_MONTHLY_BUDGET_USD": "100",
    }
    done = _estimate("--inbox", str(REPO / "samples" / "inbox"), env=env)
    assert done.returncode == 0, done.stderr
    assert "ceiling (CHARGEN_MAX_RUN_COST_USD): $0.05 per run" in done.stdout
    assert "is over it: a run of it would be refused" in done.stdout
    assert "$100.00, $0.00 reserved or spent this month, $100.00 left" in done.stdout
    assert "at batch prices, fits" in done.stdout
    refused = _estimate(
        "--inbox", str(REPO / "samples" / "inbox"), env={**env, "CHARGEN_MAX_RUN_COST_USD": "nan"}
    )
    assert refused.returncode == 2 and "is not an amount of dollars" in refused.stderr


def test_a_reader_that_stops_reading_is_not_an_error(tmp_path: Path) -> None:
    """`chargen estimate | head -3`: the pipe closed early is no unreadable inbox."""
    inbox = tmp_path / "inbox"
    shutil.copytree(REPO / "samples" / "inbox", inbox)
    env = {"PATH": str(Path(sys.executable).parent), "CHARGEN_STORAGE": str(tmp_path / "s")}
    reading, writing = os.pipe()
    os.close(reading)  # the reader is gone before the first line: every write breaks the pipe
    try:
        done = subprocess.run(
            [str(Path(sys.executable).parent / "chargen"), "estimate", "--inbox", str(inbox)],
            env=env,
            stdout=writing,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(writing)
    assert done.returncode == 0 and done.stderr == ""
