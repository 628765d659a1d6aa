"""character_image: a Gemini batch image job renders every prompt; PNGs stream into storage."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import partial
from typing import Any

import dagster as dg

from chargen_assets import cast_style, character_prompt
from chargen_assets.partitions import character_asset_spec, characters
from chargen_assets.stage import CheckVerdict, Stage, StageRun
from chargen_resources.characters.artifacts import GeneratedImage
from chargen_resources.characters.image_qa import failed as qa_failed
from chargen_resources.characters.image_qa import failures_in_words
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.characters.thumbnails import glance_markdown, thumbnail_bytes
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.image_stage import LOCKED_WITHOUT_IMAGE, image_stage, refusals
from chargen_resources.pipeline.image_stage import still_valid as image_still_valid
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import only

IMAGE_CODE = "image-v1"


def code_version_for(prompt_code_version: str) -> str:
    """The image's code version includes the prompt template's: the request is built from it.
    Dagster does not carry a parent's code change down to partitions whose own events are
    unchanged, so without this only `character_prompt` would read as stale after a template edit;
    with it, every image made from an older template does too."""
    return f"{IMAGE_CODE}+{prompt_code_version}"


CODE_VERSION = code_version_for(character_prompt.CODE_VERSION)

spec = character_asset_spec(
    stage_names.IMAGE,
    code_version=CODE_VERSION,
    kinds={"gemini", "png"},
    # The request carries the cast's style images beside the prompt: it reads the style too.
    upstream=[character_prompt.spec.key, cast_style.KEY],
    description=(
        "The finished character as PNG, from a Gemini batch image job (or one interactive "
        "streamGenerateContent call for a one-character run). Metadata: size, tokens, "
        "estimated cost, job, thumbnail."
    ),
)


def metadata(image: GeneratedImage, uri: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    # First, so the picture is the first thing on the materialization (inline, no dialog).
    # Made once with the record; records stored before it existed derive it here.
    if glance := image.glance or glance_markdown(thumbnail_bytes(image.thumbnail), image.character):
        values["image_preview"] = dg.MetadataValue.md(glance)
    values |= {
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "finish_reason": image.finish_reason or "",
        "model": image.model,
        "backend": image.backend or "unknown",
        "mode": image.mode,
        "batch_job": image.batch_job or "(interactive, full price)",
        "prompt_tokens": image.usage.prompt_tokens,
        "output_tokens": image.usage.output_tokens,
        "thoughts_tokens": image.usage.thoughts_tokens,
        "estimated_cost_usd": round(image.estimated_cost_usd or 0.0, 4),
        # The sketches sent with the request for the model to follow (lineage of the look).
        "reference_count": len(image.references),
        "references": ", ".join(image.references) or "none (text only)",
        "take": image.take or 1,
        "image": dg.MetadataValue.path(image.image_uri),
    }
    values["qa"] = failures_in_words(image.qa) or "passed"
    values["record"] = dg.MetadataValue.path(uri)
    return values


def compute(run: StageRun) -> StageOutcome[GeneratedImage]:
    prompts: Mapping[str, CompiledPrompt] = run.results(character_prompt.spec.key)
    store = run.storage.store()
    model = run.gemini.image_model

    paid = image_stage(
        store=store,
        prefix=run.storage.prefix,
        ledger=run.runner.ledger,
        client=run.gemini.streaming_client(),
        model=model,
        safety_settings=run.config.safety(),
        timeout_seconds=run.gemini.request_timeout_seconds,
        backend=run.gemini.backend(),
        uploads=run.uploads,
        prompts=prompts,
    )
    strict = run.config.qa_must_pass()
    valid = partial(
        image_still_valid,
        model=model,
        store=store,
        answering=run.gemini.backend(),
        qa_must_pass=strict,
    )
    refused = refusals(prompts, model)
    # An approved take (character.yaml `locked: true`) is never generated again, whatever
    # changed, not even with `regenerate`.
    locked = [k for k, prompt in prompts.items() if prompt.locked]
    approved = run.storage.read_artifacts(spec.key, locked, GeneratedImage, missing_ok=True)
    for key in locked:
        if key not in approved:
            refused[key] = LOCKED_WITHOUT_IMAGE
    if approved:
        run.log.info(f"locked, their approved take kept: {', '.join(sorted(approved))}")
    asked = only(prompts, [k for k in prompts if k not in refused and k not in approved])
    # Dead-lettered QA failures are generated anew, not read back from their old job.
    failing = set()
    if strict:
        stored = run.storage.read_artifacts(spec.key, asked, GeneratedImage, missing_ok=True)
        failing = {k for k, old in stored.items() if qa_failed(old.qa)}
    outcome = run.pay(spec.key, asked, GeneratedImage, valid, paid, resend=failing)
    outcome.succeeded.update(approved)
    for key, reason in refused.items():
        outcome.fail(key, reason, content=True)
    if strict:
        for character in list(outcome.succeeded):
            if problems := failures_in_words(outcome.succeeded[character].qa):
                outcome.reject(
                    character,
                    f"the image failed QA ({problems}); it was not kept, re-run this character "
                    "to generate it again",
                )
    return outcome


# One verdict per character, evaluated for every character a run asked an image of: failed when
# the run did not make (or keep) its image, with the stage, the reason and what to do; else the
# image's four QA tests, failed when any failed, each test's finding in its metadata. One check,
# not one for "made" and one for QA: a character without an image has no QA verdict that is
# true, and each verdict is an event Dagster stores per character, plus a planned row per
# character when the run is created, each holding the run's whole partition list (README,
# "Creating a huge run"). Dagster 1.13 has no per-partition failure reason of its own (README,
# "When some characters fail").
READY_CHECK = "ready"


def qa_checks(image: GeneratedImage) -> list[CheckVerdict]:
    """A stored image's verdict: failed when any QA test failed, and then which and why."""
    problems = failures_in_words(image.qa)
    findings = {
        result.check: f"{'passed' if result.passed else 'FAILED'}: {result.detail}"
        for result in image.qa
    }
    return [CheckVerdict(READY_CHECK, problems is None, problems or "every test passed", findings)]


with warnings.catch_warnings():
    # Partitioned asset checks are a "preview" in Dagster 1.13; chosen knowingly (README,
    # "Image QA"), so the warning is not repeated on every load of the code location.
    warnings.simplefilter("ignore", dg.PreviewWarning)
    CHECK_SPECS = (
        dg.AssetCheckSpec(
            READY_CHECK,
            asset=spec.key,
            partitions_def=characters,
            description=(
                "This character's image was made (or kept) by the run that asked for it and "
                "passes its quality tests. When it was not made: the failed stage, the reason "
                "and what to do, in this check's metadata. When it was: each test's finding, "
                "png_decodes (it decodes as a PNG), size_as_asked (its pixel size is the "
                "documented one for the asked ratio and size), not_blank (a drawing, not one "
                "flat colour), final_not_thought (the final part was the answer, not a draft "
                "image)."
            ),
        ),
    )


stage = Stage(
    spec=spec,
    artifact=GeneratedImage,
    metadata=metadata,
    compute=compute,
    check_specs=CHECK_SPECS,
    checks=qa_checks,
)
