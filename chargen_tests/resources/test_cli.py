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

from chargen_resources.cli import MANIFEST_NAME, file_name_for, main, safe_file_stem


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


def test_a_file_that_is_not_batch_output_is_said_to_be_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "README.md"
    source.write_text("# a readme\n\nnot JSON at all\n")
    assert main(["extract-batch-output", str(source), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert "2 lines: 0 images written, 0 without image, 2 failed" in err
    assert "no line of" in err and "is it the output file of a batch job" in err


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


# ---- vectors


def vector_png(size: tuple[int, int] = (5, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def vector_image_line(key: Any, data: bytes, **response: Any) -> str:
    parts = [{"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}]
    body = {"candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}], **response}
    return json.dumps({"key": key, "response": body})


def run(tmp_path: Path, lines: list[str] | bytes) -> tuple[int, list[dict[str, Any]], Path]:
    source = tmp_path / "in" / "output.jsonl"
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(lines if isinstance(lines, bytes) else "\n".join(lines).encode())
    out = tmp_path / "out"
    code = main(["extract-batch-output", str(source), "--out", str(out)])
    entries = [json.loads(line) for line in (out / MANIFEST_NAME).read_text().splitlines()]
    return code, entries, out


def everything_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


ODD_KEYS = [
    "../x",
    "../../etc/passwd",
    "/abs/path",
    "a/b/c",
    "a\\b",
    "",
    ".",
    "..",
    ".hidden",
    "héros 🎨 #1",
    "x" * 600,
    "manifest",
    "manifest.jsonl",
    ".chargen-staging",
    "CON",
    "nul\u0000byte",
    "-rf",
    "line-000001",
]


def test_odd_keys_stay_inside_out_and_stay_distinct(tmp_path: Path) -> None:
    images = [vector_png() for _ in ODD_KEYS]
    lines = [vector_image_line(key, data) for key, data in zip(ODD_KEYS, images, strict=True)]
    lines.append(vector_image_line(None, vector_png()))  # no key at all
    before = everything_under(tmp_path)
    code, entries, out = run(tmp_path, lines)
    assert code == 0
    assert everything_under(tmp_path) - before - {"out", "in", "in/output.jsonl"} == {
        f"out/{entry['file']}" for entry in entries
    } | {"out/manifest.jsonl"}
    assert [entry["status"] for entry in entries] == ["ok"] * len(lines)
    names = [entry["file"] for entry in entries]
    assert len(set(names)) == len(names)
    for entry, data in zip(entries, images, strict=False):
        name = entry["file"]
        assert "/" not in name and "\\" not in name and "\x00" not in name
        assert not name.startswith(".") and name != MANIFEST_NAME
        assert len(name.encode()) <= 255
        assert (out / name).read_bytes() == data
        assert (entry["width"], entry["height"], entry["bytes"]) == (5, 3, len(data))
    assert [entry["key"] for entry in entries] == [*ODD_KEYS, None]


def test_duplicate_keys_never_overwrite(tmp_path: Path) -> None:
    images = [vector_png() for _ in range(4)]
    keys = ["hero", "hero", "hero-2", "hero"]
    code, entries, out = run(
        tmp_path, [vector_image_line(k, d) for k, d in zip(keys, images, strict=True)]
    )
    assert code == 0
    names = [entry["file"] for entry in entries]
    assert len(set(names)) == 4 and names[0] == "hero.png"
    for name, data in zip(names, images, strict=True):
        assert (out / name).read_bytes() == data


def test_every_line_kind_in_the_manifest(tmp_path: Path) -> None:
    usage = {
        "promptTokenCount": 10,
        "candidatesTokenCount": 1290,
        "thoughtsTokenCount": 3,
        "totalTokenCount": 1303,
    }
    good = vector_png((7, 4))
    lines = [
        vector_image_line("ok", good, usageMetadata=usage),
        json.dumps(
            {"key": "err", "error": {"code": 8, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
        ),
        json.dumps({"key": "err-no-status", "error": {"code": 500, "message": "internal"}}),
        json.dumps(
            {"key": "safety", "response": {"candidates": [{"finishReason": "IMAGE_SAFETY"}]}}
        ),
        json.dumps(
            {
                "key": "blocked",
                "response": {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}},
            }
        ),
        json.dumps(
            {
                "key": "text-only",
                "response": {
                    "candidates": [{"content": {"parts": [{"text": "no"}]}, "finishReason": "STOP"}]
                },
            }
        ),
        vector_image_line("bad-b64", good).replace('"data": "', '"data": "@'),
        "[]",
        "7",
        "{broken",
        json.dumps({"key": "no-response"}),
    ]
    code, entries, out = run(tmp_path, lines)
    assert code == 0
    by_key = {entry["key"]: entry for entry in entries}
    assert by_key["ok"]["tokens"] == {
        "prompt": 10,
        "candidates": 1290,
        "thoughts": 3,
        "total": 1303,
    }
    assert by_key["ok"]["format"] == "png" and by_key["ok"]["bytes"] == len(good)
    assert by_key["err"]["status"] == "error"
    assert by_key["err"]["error"] == {"code": 8, "message": "quota", "status": "RESOURCE_EXHAUSTED"}
    assert by_key["err-no-status"]["error"] == {"code": 500, "message": "internal", "status": None}
    assert (by_key["safety"]["status"], by_key["safety"]["finish_reason"]) == (
        "error",
        "IMAGE_SAFETY",
    )
    assert by_key["safety"]["error"]["status"] == "IMAGE_SAFETY"
    assert (by_key["blocked"]["status"], by_key["blocked"]["block_reason"]) == (
        "error",
        "PROHIBITED_CONTENT",
    )
    assert "blockReason PROHIBITED_CONTENT" in by_key["blocked"]["error"]["message"]
    assert by_key["text-only"]["status"] == "no_image"
    assert (
        by_key["bad-b64"]["status"] == "error" and "base64" in by_key["bad-b64"]["error"]["message"]
    )
    assert by_key["no-response"]["error"]["status"] == "MISSING_RESPONSE"
    malformed = [entry for entry in entries if entry["key"] is None]
    assert [entry["line"] for entry in malformed] == [8, 9, 10]
    assert all(entry["error"]["status"] == "MALFORMED" for entry in malformed)
    assert [entry["line"] for entry in entries] == list(range(1, len(lines) + 1))
    assert sorted(path.name for path in out.iterdir()) == ["manifest.jsonl", "ok.png"]


def test_truncated_file_at_many_cut_points(tmp_path: Path) -> None:
    first = vector_png((6, 6))
    raw = (
        vector_image_line("first", first) + "\n" + vector_image_line("second", vector_png((6, 6)))
    ).encode()
    boundary = raw.index(b"\n") + 1
    for cut in range(boundary + 1, len(raw) - 1, 37):
        target = tmp_path / str(cut)
        target.mkdir()
        code, entries, out = run(target, raw[:cut])
        assert code == 0
        assert entries[0]["status"] == "ok" and (out / "first.png").read_bytes() == first
        assert len(entries) == 2 and entries[1]["error"]["status"] == "TRUNCATED", cut
        assert sorted(path.name for path in out.iterdir()) == ["first.png", "manifest.jsonl"]


def test_empty_file_and_blank_lines_only(tmp_path: Path) -> None:
    code, entries, out = run(tmp_path, b"\r\n\n  \n")
    assert (code, entries) == (0, [])
    assert [path.name for path in out.iterdir()] == ["manifest.jsonl"]


def test_fatal_problems_exit_2_and_write_nothing_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "output.jsonl"
    source.write_text(vector_image_line("k", vector_png()))
    occupied = tmp_path / "occupied"
    occupied.write_text("a file, not a directory")
    assert main(["extract-batch-output", str(tmp_path), "--out", str(tmp_path / "o2")]) == 2
    assert "is not a file" in capsys.readouterr().err
    assert main(["extract-batch-output", str(source), "--out", str(occupied / "sub")]) == 2
    assert "failed" in capsys.readouterr().err
    assert occupied.read_text() == "a file, not a directory"
    with pytest.raises(SystemExit) as usage:
        main(["extract-batch-output", str(source)])
    assert usage.value.code == 2
