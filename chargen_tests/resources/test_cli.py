"""``chargen extract-batch-output``: images named by key, manifest, per-line failures, safe names."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from chargen_resources.cli import file_name_for, main, safe_file_stem


def png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, "JPEG")
    return buffer.getvalue()


def image_line(key: str, data: bytes, mime: str = "image/png", draft: bytes | None = None) -> str:
    parts: list[dict[str, Any]] = [{"text": "Here you go"}]
    if draft is not None:
        parts.insert(
            0,
            {
                "inlineData": {"mimeType": "image/png", "data": base64.b64encode(draft).decode()},
                "thought": True,
            },
        )
    parts.append({"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}})
    return json.dumps(
        {
            "response": {
                "candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}],
                "usageMetadata": {
                    "promptTokenCount": 10,
                    "candidatesTokenCount": 1290,
                    "totalTokenCount": 1300,
                },
            },
            "key": key,
        }
    )


def manifest(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_extracts_images_and_manifest(tmp_path: Path) -> None:
    first, second, draft = png((64, 32)), jpeg((20, 10)), png((8, 8))
    lines = [
        image_line("hero-001", first, draft=draft),
        json.dumps(
            {
                "key": "hero-002",
                "error": {"code": 3, "message": "bad request", "status": "INVALID_ARGUMENT"},
            }
        ),
        image_line("../../etc/passwd", second, mime="image/jpeg"),
        json.dumps(
            {"key": "hero-004", "response": {"candidates": [{"finishReason": "IMAGE_SAFETY"}]}}
        ),
        image_line("hero-005", b"\x00" * 10).replace('"data": "', '"data": "!!'),
        "{not json",
        image_line("hero-001", first),  # a duplicate key must not overwrite the first file
        image_line("hero-008", png((16, 16)))[:300],  # the download was cut short
    ]
    source = tmp_path / "output.jsonl"
    source.write_text("\r\n".join(lines))
    out = tmp_path / "out"
    assert main(["extract-batch-output", str(source), "--out", str(out)]) == 0
    entries = manifest(out)
    assert [entry["status"] for entry in entries] == [
        "ok",
        "error",
        "ok",
        "error",  # refused by the safety filter: the error says so
        "error",
        "error",
        "ok",
        "error",
    ]
    assert entries[0] == {
        "line": 1,
        "key": "hero-001",
        "status": "ok",
        "error": None,
        "file": "hero-001.png",
        "width": 64,
        "height": 32,
        "bytes": len(first),
        "format": "png",
        "finish_reason": "STOP",
        "block_reason": None,
        "tokens": {"prompt": 10, "candidates": 1290, "thoughts": None, "total": 1300},
    }
    assert (out / "hero-001.png").read_bytes() == first
    assert entries[1]["error"] == {
        "code": 3,
        "message": "bad request",
        "status": "INVALID_ARGUMENT",
    }
    traversal = entries[2]["file"]
    assert "/" not in traversal and traversal.endswith(".jpg") and not traversal.startswith(".")
    assert (out / traversal).read_bytes() == second
    assert entries[3]["finish_reason"] == "IMAGE_SAFETY" and entries[3]["file"] is None
    assert "base64" in entries[4]["error"]["message"]
    assert entries[5]["error"]["status"] == "MALFORMED"
    assert entries[6]["file"] == "hero-001-2.png"
    assert entries[7]["error"]["status"] == "TRUNCATED"
    written = sorted(path.name for path in out.iterdir())
    assert written == sorted(["manifest.jsonl", "hero-001.png", "hero-001-2.png", traversal])
    assert not (tmp_path / "etc").exists()


def test_missing_file_is_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["extract-batch-output", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")])
        != 0
    )
    assert "is not a file" in capsys.readouterr().err


def test_console_script_entry_point(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(image_line("k", png((4, 4))) + "\n")
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "chargen_resources.cli",
            "extract-batch-output",
            str(source),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    assert "1 images written" in finished.stderr
    assert (tmp_path / "o" / "k.png").exists()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("hero-1", "hero-1"),
        ("00_COM.png", "00_COM.png"),
        (None, "line-000004"),
        ("", "line-000004"),
    ],
)
def test_safe_names(key: str | None, expected: str) -> None:
    assert safe_file_stem(key, 3) == expected


@pytest.mark.parametrize("key", ["..", ".", "../x", "a/b", "a\\b", ".hidden", "x" * 500, "é"])
def test_unsafe_keys_become_plain_names(key: str) -> None:
    name = file_name_for(key, 0, "png")
    assert "/" not in name and "\\" not in name and not name.startswith(".") and len(name) < 160
    assert name != file_name_for(key + "y", 0, "png")


def test_key_already_carrying_the_extension() -> None:
    assert file_name_for("00_COM.png", 0, "png") == "00_COM.png"
    assert file_name_for("a.jpeg", 0, "jpeg") == "a.jpeg"
    assert file_name_for("a", 0, None) == "a.bin"
