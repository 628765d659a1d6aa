"""`make demo` on a small inbox: exit code 0 with a failed character, and the summary."""

from pathlib import Path

import pytest
from PIL import Image

from chargen_assets import demo


def test_demo_materializes_everything_and_reports_the_blocked_character(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = tmp_path / "inbox"
    for name, colour in {"ash": (200, 20, 20), "brook": (20, 60, 200)}.items():
        (inbox / name).mkdir(parents=True)
        Image.new("RGB", (64, 64), colour).save(inbox / name / "a.png")
    (inbox / "brook" / "character.yaml").write_text("notes: gory\n")
    (inbox / "empty").mkdir()
    (inbox / "readme.txt").write_text("loose")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("CHARGEN_INBOX", "restored-after-the-test")  # main() sets it
    monkeypatch.setenv("CHARGEN_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("CHARGEN_EMULATOR_STATE", str(tmp_path / "emulator"))
    monkeypatch.setenv("CHARGEN_POLL_SECONDS", "0.05")
    monkeypatch.setenv("CHARGEN_EMULATOR_PENDING_SECONDS", "0")
    monkeypatch.setenv("CHARGEN_EMULATOR_RUNNING_SECONDS", "0")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    code = demo.main(["--inbox", str(inbox), "--dagster-home", str(tmp_path / "home")])
    told = capsys.readouterr()
    out = told.out
    assert code == 0
    assert "not characters: " in told.err and "empty" in told.err and "readme.txt" in told.err
    assert "1 of 2 characters done, 1 not." in out
    assert "brook" in out and "IMAGE_SAFETY" in out
    assert (tmp_path / "storage" / "chargen" / "character_image" / "ash.png").is_file()
    assert "the gallery is file://" in out and "chargen/gallery/index.html" in out
    # An approved take reads as such (it has its image), not as "no image yet".
    (inbox / "ash" / "character.yaml").write_text("locked: true\n")
    assert demo.main(["--inbox", str(inbox), "--dagster-home", str(tmp_path / "home")]) == 0
    again = capsys.readouterr().out
    assert "1 of 2 characters done, 1 not." in again
    assert any(line.split()[:2] == ["locked", "ash"] for line in again.splitlines())


def test_demo_refuses_a_missing_inbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        demo.main(["--inbox", str(tmp_path / "nope"), "--dagster-home", str(tmp_path / "h")]) == 2
    )
    assert "no inbox folder" in capsys.readouterr().err


def test_demo_says_what_an_inbox_without_characters_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # main() sets these for the run it would make: restored after the test.
    monkeypatch.setenv("CHARGEN_INBOX", "restored-after-the-test")
    monkeypatch.setenv("CHARGEN_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "h"))
    for name in ("CHARGEN_POLL_SECONDS", "CHARGEN_EMULATOR_PENDING_SECONDS"):
        monkeypatch.setenv(name, "0")
    monkeypatch.setenv("CHARGEN_EMULATOR_RUNNING_SECONDS", "0")
    inbox = tmp_path / "inbox"
    (inbox / "not-yet").mkdir(parents=True)
    home = str(tmp_path / "h")
    assert demo.main(["--inbox", str(inbox), "--dagster-home", home]) == 2
    told = capsys.readouterr().err
    assert f"no characters found in {inbox} (not characters: not-yet: empty folder" in told
    assert "put a folder per character in it, each with its PNG, JPEG or WEBP sketches" in told


def test_expected_failures_print_without_the_framework_stack_trace() -> None:
    import io

    sink = io.StringIO()
    stream = demo._WithoutStackTraces(sink)
    stream.write("2026-01-01 00:00:00 +0000 - dagster - ERROR - STEP_FAILURE\n\n")
    stream.write("dagster._core.definitions.events.Failure: 1 of 2")
    stream.write(' characters failed\n\nStack Trace:\n  File "x.py", line 1\n    raise\n')
    stream.write(
        "2026-01-01 00:00:01 +0000 - dagster - ERROR - RUN_FAILURE - run failed. "
        "Steps failed: ['character_pipeline'].\n\n"
    )
    stream.write("dagster._core.definitions.events.Failure: 1 of 2 characters failed\n")
    stream.write("2026-01-01 00:00:01 +0000 - dagster - INFO - next line\n")
    stream.flush()
    text = sink.getvalue()
    assert "RUN_FAILURE - run failed. Steps failed:" in text
    assert text.count("1 of 2 characters failed") == 1  # the run's repeat of the step's words
    assert "1 of 2 characters failed" in text and "next line" in text
    assert "Stack Trace" not in text and "x.py" not in text
    assert "\n1 of 2 characters failed" in text and "dagster._core" not in text


def test_a_setting_the_definitions_refuse_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "inbox").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "chargen_assets.demo", "--inbox", str(tmp_path / "inbox")],
        env={
            **os.environ,
            "CHARGEN_MAX_RUN_COST_USD": "abc",
            "CHARGEN_STORAGE": str(tmp_path / "storage"),
            "DAGSTER_HOME": str(tmp_path / "home"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("chargen demo: CHARGEN_MAX_RUN_COST_USD='abc' is not an amount")
    assert "Traceback" not in done.stderr


def _one_character(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An inbox of one character, with the demo's storage, emulator and instance in tmp_path."""
    inbox = tmp_path / "inbox"
    (inbox / "ash").mkdir(parents=True)
    Image.new("RGB", (64, 64), (200, 20, 20)).save(inbox / "ash" / "a.png")
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("CHARGEN_INBOX", "restored-after-the-test")  # main() sets it
    monkeypatch.setenv("CHARGEN_STORAGE", str(tmp_path / "storage"))
    monkeypatch.setenv("CHARGEN_EMULATOR_STATE", str(tmp_path / "emulator"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    return inbox


def test_a_run_over_the_ceiling_is_told_in_chargens_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = _one_character(tmp_path, monkeypatch)
    monkeypatch.setenv("CHARGEN_MAX_RUN_COST_USD", "0.01")
    code = demo.main(["--inbox", str(inbox), "--dagster-home", str(tmp_path / "home")])
    captured = capsys.readouterr()
    assert code == 2  # refused by a setting, as README says; the platform did not break
    told = [line for line in captured.err.splitlines() if line.startswith("chargen demo: ")]
    assert told and told[-1].startswith("chargen demo: This run would cost about $")
    assert "the platform failed" not in captured.err and "dagster._core" not in told[-1]
    assert "characters done" not in captured.out  # no summary of a run that never ran


def test_an_s3_inbox_is_pointed_to_make_dev(capsys: pytest.CaptureFixture[str]) -> None:
    from chargen_assets.demo import main

    assert main(["--inbox", "s3://studio/inbox"]) == 2
    told = capsys.readouterr().err
    assert "--inbox s3://studio/inbox" in told and "CHARGEN_INBOX" in told and "make dev" in told


def test_the_demo_says_when_chargen_inbox_names_another_inbox(tmp_path: Path) -> None:
    ours = tmp_path / "inbox"
    ours.mkdir()
    assert demo.inbox_note(ours, None) is None
    assert demo.inbox_note(ours, str(ours)) is None
    note = demo.inbox_note(ours, "s3://studio/inbox")
    assert note is not None and "CHARGEN_INBOX=s3://studio/inbox" in note
    assert f"running over {ours}" in note and "--inbox s3://studio/inbox" in note


def test_a_run_failure_of_its_own_keeps_its_words() -> None:
    import io

    sink = io.StringIO()
    stream = demo._WithoutStackTraces(sink)
    stream.write("2026-01-01 00:00:01 +0000 - dagster - ERROR - RUN_FAILURE - run failed.\n\n")
    stream.write("the run worker could not start\n")
    stream.flush()
    assert "the run worker could not start" in sink.getvalue()


def test_without_inbox_the_demo_runs_over_the_inbox_make_dev_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`./inbox`, as README says (not the bundled samples, which `make demo` copies there)."""
    monkeypatch.chdir(tmp_path)
    assert demo.main(["--dagster-home", str(tmp_path / "home")]) == 2
    assert "no inbox folder at inbox" in capsys.readouterr().err


def test_a_style_guide_it_cannot_read_is_a_refusal_named_by_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = _one_character(tmp_path, monkeypatch)
    (inbox / "_style").mkdir()
    (inbox / "_style" / "style.yaml").write_text("aspect_ratio: '16:10'\n")
    code = demo.main(["--inbox", str(inbox), "--dagster-home", str(tmp_path / "home")])
    told = [line for line in capsys.readouterr().err.splitlines() if "chargen demo: " in line]
    assert code == 2  # the user's own input refused before anything ran, not a broken platform
    assert told[-1].startswith("chargen demo: cast_style: _style/style.yaml: ")
    assert "16:10" in told[-1]


def test_the_summary_names_a_failed_character_once() -> None:
    import polars as pl

    table = pl.DataFrame(
        {
            "character": ["badsyntax"],
            "status": ["failed"],
            "image_key": [None],
            "width": [None],
            "height": [None],
            "archetype": [None],
            "failed_stage": ["source_image"],
            "reason": ["character 'badsyntax': character.yaml: line 2: a tab is not allowed"],
            "tokens": [0],
            "estimated_cost_usd": [0.0],
        }
    )
    summary = demo._summary(table, "file:///i", "file:///g").splitlines()
    (line,) = [row for row in summary if "failed" in row]
    assert " ".join(line.split()) == (
        "failed badsyntax source_image: character.yaml: line 2: a tab is not allowed"
    )
