"""Batches through the real SDK: the seed guide's flow, inline batches, job-level faults."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors
from PIL import Image

from chargen_resources.emulator import RunningEmulator
from chargen_tests.resources.emulator.helpers import (
    error_of,
    raw,
    wait_done,
    write_jsonl,
    write_png,
)

ANALYSIS_PROPERTIES = ("archetype", "visual_traits", "color_palette", "mood", "art_style")
ANALYSIS_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {
        "archetype": {"type": "STRING"},
        "visual_traits": {"type": "ARRAY", "items": {"type": "STRING"}},
        "color_palette": {"type": "STRING"},
        "mood": {"type": "STRING"},
        "art_style": {"type": "STRING"},
    },
    "required": ["archetype", "visual_traits", "color_palette", "mood", "art_style"],
}


def _inline(text: str) -> list[Any]:
    return [{"contents": [{"parts": [{"text": text}]}]}]


def _analysis_line(key: str, uri: str) -> dict[str, object]:
    return {
        "key": key,
        "request": {
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Analyse this character reference."},
                        {"file_data": {"file_uri": uri, "mime_type": "image/png"}},
                    ],
                }
            ],
            "generation_config": {
                "response_mime_type": "application/json",
                "response_schema": ANALYSIS_SCHEMA,
                "temperature": 0.2,
            },
        },
    }


def test_seed_guide_flow_upload_batch_poll_download_parse(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    colours = {"red": (210, 20, 25), "dark": (12, 12, 18)}
    uris = {}
    for key, colour in colours.items():
        uploaded = genai_client.files.upload(
            file=write_png(tmp_path / f"{key}.png", colour), config={"display_name": key}
        )
        assert uploaded.uri
        uris[key] = uploaded.uri
    jsonl = write_jsonl(
        tmp_path / "analysis.jsonl",
        [_analysis_line(f"analysis_{k}", uri) for k, uri in uris.items()],
    )
    source = genai_client.files.upload(file=jsonl, config={"mime_type": "jsonl"})
    assert source.name
    job = genai_client.batches.create(
        model="gemini-2.5-flash", src=source.name, config={"display_name": "chargen-analysis"}
    )
    assert job.name and job.name.startswith("batches/")
    assert job.state is not None and job.state.name == "JOB_STATE_PENDING"
    assert job.display_name == "chargen-analysis" and job.model == "models/gemini-2.5-flash"
    done = wait_done(genai_client, job.name)
    assert done.state is not None and done.state.name == "JOB_STATE_SUCCEEDED"
    assert done.end_time is not None and done.dest is not None and done.dest.file_name
    output = genai_client.files.get(name=done.dest.file_name)
    assert output.source is not None and output.source.name == "GENERATED" and output.download_uri
    data = genai_client.files.download(file=output)
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["key"] for line in lines] == ["analysis_red", "analysis_dark"]
    parsed = {
        line["key"]: json.loads(line["response"]["candidates"][0]["content"]["parts"][0]["text"])
        for line in lines
    }
    for analysis in parsed.values():
        assert set(analysis) == set(ANALYSIS_PROPERTIES)
        assert isinstance(analysis["visual_traits"], list)
    assert any(c in parsed["analysis_red"]["color_palette"] for c in ("red", "crimson", "scarlet"))
    assert "dark" in parsed["analysis_dark"]["mood"]
    usage = lines[0]["response"]["usageMetadata"]
    assert usage["promptTokenCount"] >= 258  # one small image: 258 tokens


def test_image_batch_lines_carry_standard_base64_pngs(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    lines = [
        {
            "key": f"gen_{i}",
            "request": {
                "contents": [{"parts": [{"text": f"A {colour} knight, heroic"}]}],
                "generationConfig": {
                    "responseModalities": ["IMAGE"],
                    "imageConfig": {"aspectRatio": "9:16"},
                },
            },
        }
        for i, colour in enumerate(["crimson", "teal"])
    ]
    source = genai_client.files.upload(
        file=write_jsonl(tmp_path / "gen.jsonl", lines), config={"mime_type": "jsonl"}
    )
    assert source.name
    job = genai_client.batches.create(model="gemini-3-pro-image-preview", src=source.name)
    done = wait_done(genai_client, job.name or "")
    assert done.dest is not None and done.dest.file_name
    target = tmp_path / "out.jsonl"
    target.write_bytes(genai_client.files.download(file=done.dest.file_name))
    for line in target.read_text().splitlines():
        record = json.loads(line)
        parts = record["response"]["candidates"][0]["content"]["parts"]
        final = [p for p in parts if "inlineData" in p and not p.get("thought")]
        image = Image.open(
            io.BytesIO(base64.b64decode(final[-1]["inlineData"]["data"], validate=True))
        )
        assert image.size == (768, 1376)
        assert record["response"]["usageMetadata"]["candidatesTokenCount"] == 1120


def test_inline_batch_results_in_input_order_with_metadata(genai_client: genai.Client) -> None:
    requests: list[Any] = [
        {
            "contents": [{"parts": [{"text": f"describe a {word} ranger"}], "role": "user"}],
            "metadata": {"key": f"k{i}"},
        }
        for i, word in enumerate(["green", "blue", "golden"])
    ]
    requests.append(
        {
            "contents": [{"parts": [{"text": "x [emulator:line-error]"}], "role": "user"}],
            "metadata": {"key": "broken"},
        }
    )
    job = genai_client.batches.create(
        model="gemini-2.5-flash", src=requests, config={"display_name": "inline"}
    )
    done = wait_done(genai_client, job.name or "")
    assert done.state is not None and done.state.name == "JOB_STATE_SUCCEEDED"
    assert done.dest is not None and done.dest.inlined_responses is not None
    items = done.dest.inlined_responses
    assert [item.metadata for item in items] == [
        {"key": "k0"},
        {"key": "k1"},
        {"key": "k2"},
        {"key": "broken"},
    ]
    assert items[0].response is not None and "green" in (items[0].response.text or "")
    assert items[3].error is not None and items[3].error.code == 13


def _file_batch_output(
    genai_client: genai.Client, tmp_path: Path, lines: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The output lines of a file batch job over `lines`, once it is done."""
    source = genai_client.files.upload(
        file=write_jsonl(tmp_path / "f.jsonl", lines), config={"mime_type": "jsonl"}
    )
    job = genai_client.batches.create(model="gemini-2.5-flash", src=source.name or "")
    done = wait_done(genai_client, job.name or "")
    assert done.dest is not None and done.dest.file_name
    return [
        json.loads(x) for x in genai_client.files.download(file=done.dest.file_name).splitlines()
    ]


def test_per_line_faults_in_file_batches(genai_client: genai.Client, tmp_path: Path) -> None:
    def line(key: str, text: str) -> dict[str, Any]:
        return {"key": key, "request": {"contents": [{"parts": [{"text": text}]}]}}

    lines: list[dict[str, Any]] = [
        line("ok", "a mage"),
        line("bad[emulator:line-error]", "a mage"),
        line("busy", "a mage [emulator:http-429]"),
        {
            "key": "missing",
            "request": {
                "contents": [
                    {
                        "parts": [
                            {"fileData": {"fileUri": "files/nosuchfile", "mimeType": "image/png"}}
                        ]
                    }
                ]
            },
        },
        line("unsafe", "a gory scene"),
    ]
    out = _file_batch_output(genai_client, tmp_path, lines)
    by_key = {item["key"]: item for item in out}
    assert "response" in by_key["ok"]
    assert by_key["bad[emulator:line-error]"]["error"]["status"] == "INTERNAL"
    assert by_key["busy"]["error"] == {
        "code": 8,
        "message": by_key["busy"]["error"]["message"],
        "status": "RESOURCE_EXHAUSTED",
    }
    assert by_key["missing"]["error"]["status"] == "INVALID_ARGUMENT"
    assert by_key["unsafe"]["response"]["promptFeedback"]["blockReason"] == "SAFETY"


def test_file_batch_lines_come_out_in_input_order_though_answered_two_at_a_time(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    """The emulator answers a batch's lines in parallel (as Google does); the output file still
    has one line per input line, in order, errors where they were asked for."""
    keys = [
        f"k{index:02d}" + ("[emulator:line-error]" if index % 5 == 3 else "") for index in range(12)
    ]
    lines = [
        {"key": key, "request": {"contents": [{"parts": [{"text": f"a mage number {i}"}]}]}}
        for i, key in enumerate(keys)
    ]
    out = _file_batch_output(genai_client, tmp_path, lines)
    assert [item["key"] for item in out] == keys
    assert ["error" in item for item in out] == ["line-error" in key for key in keys]


@pytest.mark.parametrize(
    ("marker", "state"),
    [("batch-failed", "JOB_STATE_FAILED"), ("batch-expired", "JOB_STATE_EXPIRED")],
)
def test_job_level_fault_markers(genai_client: genai.Client, marker: str, state: str) -> None:
    job = genai_client.batches.create(
        model="gemini-2.5-flash",
        src=_inline("hi"),
        config={"display_name": f"job [emulator:{marker}]"},
    )
    done = wait_done(genai_client, job.name or "")
    assert done.state is not None and done.state.name == state
    assert done.dest is None


def test_stuck_batch_stays_pending_until_it_expires_at_48h(
    genai_client: genai.Client, emulator: RunningEmulator
) -> None:
    job = genai_client.batches.create(
        model="gemini-2.5-flash",
        src=_inline("hi"),
        config={"display_name": "[emulator:batch-stuck]"},
    )
    got = genai_client.batches.get(name=job.name or "")
    assert got.state is not None and got.state.name == "JOB_STATE_PENDING"
    raw(emulator, "POST", "/emulator/clock", json.dumps({"advanceSeconds": 48 * 3600}).encode())
    got = genai_client.batches.get(name=job.name or "")
    assert got.state is not None and got.state.name == "JOB_STATE_EXPIRED"


def test_succeeded_before_output_file_exists(
    genai_client: genai.Client, tmp_path: Path, emulator: RunningEmulator
) -> None:
    source = genai_client.files.upload(
        file=write_jsonl(
            tmp_path / "a.jsonl",
            [{"key": "a", "request": {"contents": [{"parts": [{"text": "hi"}]}]}}],
        ),
        config={"mime_type": "jsonl"},
    )
    job = genai_client.batches.create(
        model="gemini-2.5-flash",
        src=source.name or "",
        config={"display_name": "[emulator:batch-late-output=600]"},
    )
    done = wait_done(genai_client, job.name or "")
    assert done.state is not None and done.state.name == "JOB_STATE_SUCCEEDED"
    assert done.dest is not None and done.dest.file_name
    with pytest.raises(errors.ClientError) as caught:
        genai_client.files.download(file=done.dest.file_name)
    assert caught.value.code == 404
    raw(emulator, "POST", "/emulator/clock", json.dumps({"advanceSeconds": 601}).encode())
    assert b'"key":"a"' in genai_client.files.download(file=done.dest.file_name)


def test_list_cancel_delete(
    emulator: RunningEmulator, genai_client: genai.Client, tmp_path: Path
) -> None:
    from chargen_resources.emulator import EmulatorSettings, start_emulator
    from chargen_tests.fixtures.emulator import client_for

    slow = EmulatorSettings(pending_seconds=300, running_seconds=300)
    with start_emulator(emulator.state_dir, slow) as second:
        client = client_for(second)
        names = [
            client.batches.create(model="gemini-2.5-flash", src=_inline(str(i))).name
            for i in range(3)
        ]
        pager = client.batches.list(config={"page_size": 2})
        assert len(pager.page) == 2
        assert sorted(j.name for j in pager if j.name) == sorted(n for n in names if n)
        client.batches.cancel(name=names[0] or "")
        cancelled = client.batches.get(name=names[0] or "")
        assert cancelled.state is not None and cancelled.state.name == "JOB_STATE_CANCELLED"
        client.batches.delete(name=names[1] or "")
        assert sorted(j.name for j in client.batches.list() if j.name) == sorted(
            n for n in (names[0], names[2]) if n
        )
        # The other process (fixture emulator, zero durations) sees the same jobs on disk.
        seen = genai_client.batches.get(name=names[2] or "")
        assert seen.state is not None and seen.state.name == "JOB_STATE_PENDING"


def test_bad_batch_requests(genai_client: genai.Client, emulator: RunningEmulator) -> None:
    with pytest.raises(errors.ClientError) as caught:
        genai_client.batches.get(name="batches/doesnotexist")
    assert caught.value.code == 404
    status, _, body = raw(emulator, "GET", "/v1beta/batches/Not_Valid!")
    assert status == 400 and error_of(body)["status"] == "INVALID_ARGUMENT"
    with pytest.raises(errors.ClientError) as caught:
        genai_client.batches.create(model="gemini-2.5-flash", src="files/nosuchfile")
    assert caught.value.code == 404
    with pytest.raises(errors.ClientError) as caught:
        genai_client.batches.create(model="no-such-model", src=_inline("x"))
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    status, _, body = raw(
        emulator,
        "POST",
        "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
        json.dumps({"batch": {"input_config": {}}}).encode(),
    )
    assert status == 400


def test_snake_case_rest_body_as_in_the_docs(
    emulator: RunningEmulator, genai_client: genai.Client
) -> None:
    body = {
        "batch": {
            "display_name": "rest",
            "input_config": {
                "requests": {
                    "requests": [
                        {
                            "request": {
                                "contents": [{"parts": [{"text": "a robot"}]}],
                                "generation_config": {"response_mime_type": "application/json"},
                            },
                            "metadata": {"key": "r1"},
                        }
                    ]
                }
            },
        }
    }
    status, _, answer = raw(
        emulator,
        "POST",
        "/v1beta/models/gemini-2.5-flash:batchGenerateContent",
        json.dumps(body).encode(),
    )
    assert status == 200
    operation = json.loads(answer)
    assert operation["metadata"]["state"] == "BATCH_STATE_PENDING"
    assert operation["metadata"]["batchStats"]["requestCount"] == "1"
    status, _, answer = raw(emulator, "GET", "/v1beta/" + operation["name"])
    finished = json.loads(answer)
    assert finished["done"] is True
    items = finished["metadata"]["output"]["inlinedResponses"]["inlinedResponses"]
    assert finished["response"]["inlinedResponses"]["inlinedResponses"] == items
    assert json.loads(items[0]["response"]["candidates"][0]["content"]["parts"][0]["text"])


def test_a_job_keeps_its_input_when_the_file_is_deleted_after_create_and_is_billed_once(
    genai_client: genai.Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    lines = [
        {"key": f"k{n}", "request": {"contents": [{"parts": [{"text": f"hi {n}"}]}]}}
        for n in range(2)
    ]
    source = genai_client.files.upload(
        file=write_jsonl(tmp_path / "in.jsonl", lines), config={"mime_type": "jsonl"}
    )
    assert source.name
    job = genai_client.batches.create(model="gemini-2.5-flash", src=source.name)
    genai_client.files.delete(name=source.name)  # as a client cleaning up early would
    assert job.name
    done = wait_done(genai_client, job.name)
    assert done.state is not None and done.state.name == "JOB_STATE_SUCCEEDED"
    status, _, body = raw(emulator, "GET", "/emulator/billing")
    billing = json.loads(body)
    assert status == 200 and (billing["paid"], billing["unique"], billing["batch"]) == (2, 2, 2)
    assert billing["repeated"] == {}
