"""Spec vectors for ``chargen extract-batch-output``: odd keys, every line kind, nothing outside --out."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from chargen_resources.cli import MANIFEST_NAME, main


def png(size: tuple[int, int] = (5, 3)) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def image_line(key: Any, data: bytes, **response: Any) -> str:
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
    images = [png() for _ in ODD_KEYS]
    lines = [image_line(key, data) for key, data in zip(ODD_KEYS, images, strict=True)]
    lines.append(image_line(None, png()))  # no key at all
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
    images = [png() for _ in range(4)]
    keys = ["hero", "hero", "hero-2", "hero"]
    code, entries, out = run(
        tmp_path, [image_line(k, d) for k, d in zip(keys, images, strict=True)]
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
    good = png((7, 4))
    lines = [
        image_line("ok", good, usageMetadata=usage),
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
        image_line("bad-b64", good).replace('"data": "', '"data": "@'),
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
    first = png((6, 6))
    raw = (image_line("first", first) + "\n" + image_line("second", png((6, 6)))).encode()
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
    source.write_text(image_line("k", png()))
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
