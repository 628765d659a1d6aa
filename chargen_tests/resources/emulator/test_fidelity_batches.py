"""Batch mode as the batch guide's Python samples drive it, through the real SDK."""

from __future__ import annotations

import base64
import enum
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google import genai
from google.genai import errors, types
from PIL import Image
from pydantic import BaseModel, TypeAdapter

from chargen_resources.emulator import EmulatorSettings, RunningEmulator, start_emulator
from chargen_tests.fixtures.emulator import client_for
from chargen_tests.resources.emulator.helpers import raw, wait_done, write_jsonl

COMPLETED_STATES = {
    "JOB_STATE_SUCCEEDED",
    "JOB_STATE_FAILED",
    "JOB_STATE_CANCELLED",
    "JOB_STATE_EXPIRED",
}


class Flavour(enum.Enum):
    SWEET = "sweet"
    SAVOURY = "savoury"


class Recipe(BaseModel):
    recipe_name: str
    ingredients: list[str]
    flavour: Flavour


@pytest.fixture
def slow_emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    settings = EmulatorSettings(pending_seconds=0.3, running_seconds=0.3, draft_images=0)
    with start_emulator(tmp_path / "slow-state", settings) as running:
        yield running


@pytest.fixture
def parked_emulator(tmp_path: Path) -> Iterator[RunningEmulator]:
    """Jobs stay PENDING for 60 hours: long enough to cancel them, or to let them expire."""
    settings = EmulatorSettings(pending_seconds=60 * 3600, running_seconds=0)
    with start_emulator(tmp_path / "parked-state", settings) as running:
        yield running


def _advance_clock(emulator: RunningEmulator, seconds: float) -> None:
    body = json.dumps({"advanceSeconds": seconds}).encode()
    status, _, _ = raw(emulator, "POST", "/emulator/clock", body)
    assert status == 200


def test_inline_batch_from_dicts_and_inlined_request_objects(genai_client: genai.Client) -> None:
    requests: list[Any] = [
        {"contents": [{"parts": [{"text": "Tell me a one-sentence joke."}], "role": "user"}]},
        types.InlinedRequest(
            contents="A cookie recipe, please.",
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema=Recipe
            ),
            metadata={"key": "cookie", "batch": "7"},
        ),
        {
            "contents": [{"parts": [{"text": "A few gluten free recipes."}], "role": "user"}],
            "config": {"response_mime_type": "application/json", "response_schema": list[Recipe]},
            "metadata": {"key": "many"},
        },
        {
            "contents": "Write a short poem about a cat.",
            "config": {
                "system_instruction": "You are a cat. Your name is Neko.",
                "temperature": 0.2,
            },
        },
    ]
    job = genai_client.batches.create(
        model="models/gemini-2.5-flash",
        src=requests,
        config={"display_name": "inlined-requests-job-1"},
    )
    assert job.state == types.JobState.JOB_STATE_PENDING
    assert job.display_name == "inlined-requests-job-1"
    assert job.model == "models/gemini-2.5-flash"
    assert job.name is not None and job.name.startswith("batches/")

    done = wait_done(genai_client, job.name)
    assert done.state is not None and done.state.name == "JOB_STATE_SUCCEEDED"
    assert done.dest is not None and done.dest.file_name is None
    responses = done.dest.inlined_responses or []
    assert len(responses) == 4
    assert [r.metadata for r in responses] == [
        None,
        {"key": "cookie", "batch": "7"},
        {"key": "many"},
        None,
    ]
    for item in responses:
        assert item.error is None and item.response is not None
        assert item.response.text
    texts = [item.response.text or "" if item.response else "" for item in responses]
    assert isinstance(Recipe.model_validate_json(texts[1]), Recipe)
    recipes = TypeAdapter(list[Recipe]).validate_json(texts[2])
    assert recipes and all(isinstance(r, Recipe) for r in recipes)


def test_inline_image_batch_honours_image_config(genai_client: genai.Client) -> None:
    job = genai_client.batches.create(
        model="gemini-3-pro-image-preview",
        src=[
            types.InlinedRequest(
                contents="A red knight, heroic",
                config=types.GenerateContentConfig(
                    response_modalities=["IMAGE"],
                    image_config=types.ImageConfig(aspect_ratio="16:9", image_size="2K"),
                ),
            )
        ],
    )
    done = wait_done(genai_client, str(job.name))
    assert done.dest is not None and done.dest.inlined_responses
    response = done.dest.inlined_responses[0].response
    assert response is not None and response.parts
    final = [p for p in response.parts if p.inline_data and not p.thought][-1]
    assert final.inline_data is not None and final.inline_data.data is not None
    assert Image.open(io.BytesIO(final.inline_data.data)).size == (2752, 1536)


def test_file_batch_output_parses_as_the_docs_sample_does(
    genai_client: genai.Client, emulator: RunningEmulator, tmp_path: Path
) -> None:
    lines = [
        {"key": "request-1", "request": {"contents": [{"parts": [{"text": "Describe photosynthesis."}]}], "generation_config": {"temperature": 0.7}}},
        {"key": "request-2", "request": {"contents": [{"parts": [{"text": "Margherita pizza?"}]}], "systemInstruction": {"parts": [{"text": "Be brief"}]}, "generationConfig": {"responseMimeType": "application/json"}}},
        {"key": "request-3 [emulator:line-error]", "request": {"contents": [{"parts": [{"text": "fails"}]}]}},
    ]  # fmt: skip
    uploaded = genai_client.files.upload(
        file=write_jsonl(tmp_path / "my-batch-requests.jsonl", lines),
        config=types.UploadFileConfig(display_name="my-batch-requests", mime_type="jsonl"),
    )
    job = genai_client.batches.create(
        model="gemini-2.5-flash", src=str(uploaded.name), config={"display_name": "file-job"}
    )
    batch_job = genai_client.batches.get(name=str(job.name))
    while batch_job.state is None or batch_job.state.name not in COMPLETED_STATES:
        time.sleep(0.05)
        batch_job = genai_client.batches.get(name=str(job.name))

    assert batch_job.state.name == "JOB_STATE_SUCCEEDED"
    assert batch_job.end_time is not None and batch_job.create_time is not None
    assert batch_job.dest is not None and batch_job.dest.file_name is not None
    assert batch_job.dest.file_name == "files/batch-" + str(job.name).removeprefix("batches/")
    file_content = genai_client.files.download(file=batch_job.dest.file_name).decode("utf-8")
    texts: dict[str, str] = {}
    failures: dict[str, dict[str, Any]] = {}
    for line in file_content.splitlines():
        if line:
            parsed_response = json.loads(line)
            if parsed_response.get("response"):
                candidate = parsed_response["response"]["candidates"][0]
                texts[parsed_response["key"]] = candidate["content"]["parts"][0]["text"]
            elif "error" in parsed_response:
                failures[parsed_response["key"]] = parsed_response["error"]
    assert set(texts) == {"request-1", "request-2"}
    assert isinstance(json.loads(texts["request-2"]), dict)  # JSON mode
    assert list(failures) == ["request-3 [emulator:line-error]"]
    assert {"code", "message"} <= set(failures["request-3 [emulator:line-error]"])

    _, _, body = raw(emulator, "GET", f"/v1beta/{job.name}")
    stats = json.loads(body)["metadata"]["batchStats"]
    assert stats["requestCount"] == "3"
    assert stats["successfulRequestCount"] == "2" and stats["failedRequestCount"] == "1"


def test_image_file_batch_decodes_as_the_image_docs_sample_does(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    requests = [
        {"key": "request-1", "request": {"contents": [{"parts": [{"text": "A big letter A surrounded by animals"}]}], "generation_config": {"responseModalities": ["TEXT", "IMAGE"]}}},
        {"key": "request-2", "request": {"contents": [{"parts": [{"text": "A big letter B surrounded by animals"}]}], "generation_config": {"responseModalities": ["TEXT", "IMAGE"], "imageConfig": {"aspectRatio": "9:16"}}}},
    ]  # fmt: skip
    uploaded = genai_client.files.upload(
        file=write_jsonl(tmp_path / "my-batch-image-requests.jsonl", requests),
        config=types.UploadFileConfig(display_name="my-batch-image-requests", mime_type="jsonl"),
    )
    job = genai_client.batches.create(
        model="gemini-2.5-flash-image",
        src=str(uploaded.name),
        config={"display_name": "file-image-upload-job-1"},
    )
    batch_job = wait_done(genai_client, str(job.name))
    assert batch_job.dest is not None and batch_job.dest.file_name is not None
    content = genai_client.files.download(file=batch_job.dest.file_name).decode("utf-8")
    images: dict[str, tuple[int, int]] = {}
    captions: dict[str, str] = {}
    for line in content.splitlines():
        parsed_response = json.loads(line)
        assert parsed_response.get("response")
        for part in parsed_response["response"]["candidates"][0]["content"]["parts"]:
            if part.get("text"):
                captions[parsed_response["key"]] = part["text"]
            elif part.get("inlineData"):
                assert part["inlineData"]["mimeType"] == "image/png"
                data = base64.b64decode(part["inlineData"]["data"])
                images[parsed_response["key"]] = Image.open(io.BytesIO(data)).size
    # gemini-2.5-flash-image answers at its own 1K sizes
    assert images == {"request-1": (1024, 1024), "request-2": (768, 1344)}
    assert set(captions) == {"request-1", "request-2"}


def test_state_moves_pending_running_succeeded_as_time_passes(
    slow_emulator: RunningEmulator,
) -> None:
    client = client_for(slow_emulator)
    job = client.batches.create(model="gemini-2.5-flash", src=[types.InlinedRequest(contents="hi")])
    assert job.state == types.JobState.JOB_STATE_PENDING
    seen: list[str] = []
    deadline = time.monotonic() + 10
    current = job
    while not current.done and time.monotonic() < deadline:
        current = client.batches.get(name=str(job.name))
        assert current.state is not None
        if not seen or seen[-1] != current.state.name:
            seen.append(current.state.name)
        if not current.done:
            assert current.end_time is None and current.dest is None
        time.sleep(0.03)
    assert seen == ["JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]
    assert current.create_time is not None and current.end_time is not None
    assert (current.end_time - current.create_time).total_seconds() >= 0.6
    assert current.update_time is not None and current.update_time >= current.create_time


def test_cancel_a_pending_job(parked_emulator: RunningEmulator) -> None:
    client = client_for(parked_emulator)
    job = client.batches.create(model="gemini-2.5-flash", src=[types.InlinedRequest(contents="hi")])
    assert client.batches.get(name=str(job.name)).state == types.JobState.JOB_STATE_PENDING
    client.batches.cancel(name=str(job.name))
    cancelled = client.batches.get(name=str(job.name))
    assert cancelled.state == types.JobState.JOB_STATE_CANCELLED
    assert cancelled.done and cancelled.dest is None and cancelled.end_time is not None
    _advance_clock(parked_emulator, 61 * 3600)  # past its due time: it stays cancelled
    assert client.batches.get(name=str(job.name)).state == types.JobState.JOB_STATE_CANCELLED


def test_jobs_expire_after_48_hours_of_emulator_clock(parked_emulator: RunningEmulator) -> None:
    client = client_for(parked_emulator)
    job = client.batches.create(model="gemini-2.5-flash", src=[types.InlinedRequest(contents="hi")])
    _advance_clock(parked_emulator, 47 * 3600)
    assert client.batches.get(name=str(job.name)).state == types.JobState.JOB_STATE_PENDING
    _advance_clock(parked_emulator, 3600 + 1)
    expired = client.batches.get(name=str(job.name))
    assert expired.state == types.JobState.JOB_STATE_EXPIRED
    assert expired.done and expired.dest is None


def test_list_get_delete_and_bad_names(genai_client: genai.Client) -> None:
    created = [
        genai_client.batches.create(
            model="gemini-2.5-flash", src=[types.InlinedRequest(contents=f"n{n}")]
        ).name
        for n in range(3)
    ]
    pager = genai_client.batches.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert {job.name for job in pager} == set(created)

    genai_client.batches.delete(name=str(created[0]))
    assert created[0] not in {job.name for job in genai_client.batches.list()}
    with pytest.raises(errors.ClientError) as gone:
        genai_client.batches.get(name=str(created[0]))
    assert (gone.value.code, gone.value.status) == (404, "NOT_FOUND")

    with pytest.raises(ValueError):
        genai_client.batches.get(name="not-a-batch-name")  # refused by the SDK itself
    for call in (
        genai_client.batches.get,
        genai_client.batches.cancel,
        genai_client.batches.delete,
    ):
        with pytest.raises(errors.ClientError) as missing:
            call(name="batches/doesnotexist")
        assert missing.value.code == 404


def test_create_refuses_unknown_models_and_missing_files(genai_client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as unknown:
        genai_client.batches.create(
            model="gemini-unknown-model", src=[types.InlinedRequest(contents="hi")]
        )
    assert (unknown.value.code, unknown.value.status) == (404, "NOT_FOUND")
    with pytest.raises(errors.ClientError) as missing:
        genai_client.batches.create(model="gemini-2.5-flash", src="files/nosuchfile")
    assert missing.value.code in (400, 404)
