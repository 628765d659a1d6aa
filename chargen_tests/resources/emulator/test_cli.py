"""``chargen-emulator serve`` in a separate process sharing a state dir with an embedded one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from chargen_resources.emulator import RunningEmulator
from chargen_resources.emulator.cli import main
from chargen_resources.emulator.clock import EmulatorClock
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import wait_done, write_jsonl


def _serve(state_dir: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chargen_resources.emulator.cli",
            "serve",
            "--port",
            "0",
            "--state-dir",
            str(state_dir),
            "--pending-seconds",
            "0",
            "--running-seconds",
            "0.5",
            "--image-delivery",
            "fragmented",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"serving (http://\S+)", line)
    assert found, line
    return process, found.group(1)


def test_cli_server_and_embedded_server_share_state(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    process, url = _serve(emulator.state_dir)
    try:
        from google import genai
        from google.genai import types

        remote = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url))
        local = client_for(emulator)
        source = remote.files.upload(
            file=write_jsonl(
                tmp_path / "a.jsonl",
                [
                    {"key": str(i), "request": {"contents": [{"parts": [{"text": f"mage {i}"}]}]}}
                    for i in range(3)
                ],
            ),
            config={"mime_type": "jsonl"},
        )
        job = remote.batches.create(model="gemini-2.5-flash", src=source.name or "")
        assert local.files.get(name=source.name or "").size_bytes == source.size_bytes
        time.sleep(0.6)
        done_local = wait_done(local, job.name or "")
        done_remote = wait_done(remote, job.name or "")
        assert done_local.state == done_remote.state
        assert done_remote.state is not None and done_remote.state.name == "JOB_STATE_SUCCEEDED"
        assert done_local.dest is not None and done_local.dest.file_name
        lines = remote.files.download(file=done_local.dest.file_name).decode().splitlines()
        assert [json.loads(x)["key"] for x in lines] == ["0", "1", "2"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_clock_command_moves_the_shared_offset(tmp_path: Path) -> None:
    assert main(["clock", "--state-dir", str(tmp_path), "--advance", "100"]) == 0
    assert main(["clock", "--state-dir", str(tmp_path), "--advance", "20"]) == 0
    assert EmulatorClock(tmp_path).shared_offset() == 120
    assert main(["clock", "--state-dir", str(tmp_path), "--set", "0"]) == 0
    assert EmulatorClock(tmp_path).shared_offset() == 0
