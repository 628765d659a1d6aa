"""The four character assets, executed as one step so one bad character never blocks the others.

Each asset is its own node in the graph with its own code version and lineage per character.
They share one step because a Dagster step that fails skips everything downstream of it in the
run: here a character that fails at analysis is simply left out of the later stages, while every
other character goes on to its image in the same run. Each stage logs one materialization per
character that succeeded; the step fails at the end, naming the characters that did not.

Nothing is paid for twice: a stored analysis or image that still matches its sketches and prompt
is kept without a request (unless `regenerate` is set), and a request set already submitted is
found in the ledger and reattached to. So re-running a whole range sends only what changed.
"""

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal, TypeVar

import dagster as dg
from pydantic import BaseModel, Field

from chargen_assets import character_analysis, character_image, character_prompt, source_image
from chargen_assets.partitions import characters
from chargen_assets.provenance import (
    derived_version,
    event_cursor,
    latest_data_version,
    version_tags,
)
from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.storage import ArtifactNotFoundError, ChargenStorage
from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    DeadLetter,
    GeneratedImage,
    SourceImages,
)
from chargen_resources.characters.prompt_compiler import AspectRatio, CompiledPrompt, ImageSize
from chargen_resources.characters.requests import (
    ANALYSIS_REQUEST_VERSION,
    DEFAULT_SAFETY_SETTINGS,
    SafetySetting,
)
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.pipeline.analysis_stage import analyse
from chargen_resources.pipeline.image_stage import generate_in_batch, generate_streaming
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.prompt_stage import compile_prompts
from chargen_resources.pipeline.source_stage import prepare_sources
from chargen_resources.streaming import GoogleGenAIApiAdapter, StreamingGenerateClient

T = TypeVar("T", bound=BaseModel)
U = TypeVar("U")

SOURCE = dg.AssetKey("source_image")
ANALYSIS = dg.AssetKey("character_analysis")
PROMPT = dg.AssetKey("character_prompt")
IMAGE = dg.AssetKey("character_image")
# Which stages read each stage's results (the prompt also reads character.yaml from the source).
CONSUMERS = {SOURCE: {ANALYSIS, PROMPT}, ANALYSIS: {PROMPT}, PROMPT: {IMAGE}, IMAGE: set()}


class SafetySettingConfig(dg.Config):
    category: str
    threshold: str


class PipelineConfig(dg.Config):
    image_mode: Literal["auto", "batch", "stream"] = Field(
        default="auto",
        description="auto: stream (full price, fast) for a one-character run, batch otherwise.",
    )
    style_override: str | None = Field(
        default=None, description="Render every character in this style, whatever the analysis."
    )
    aspect_ratio: AspectRatio = "9:16"
    image_size: ImageSize = "1K"
    max_source_side: int = 2048
    regenerate: bool = Field(
        default=False,
        description=(
            "Send every selected character again, even those whose stored analysis or image "
            "still matches its sketches and prompt (which are otherwise kept, unpaid)."
        ),
    )
    safety_settings: list[SafetySettingConfig] = Field(
        default_factory=lambda: [
            SafetySettingConfig(category=s.category, threshold=s.threshold)
            for s in DEFAULT_SAFETY_SETTINGS
        ]
    )


class _Run:
    """What one execution of the pipeline step knows and records."""

    def __init__(
        self, context: dg.AssetExecutionContext, storage: ChargenStorage, regenerate: bool
    ) -> None:
        self.context = context
        self.storage = storage
        self.regenerate = regenerate
        self.failures: dict[str, tuple[str, str]] = {}
        self.versions: dict[tuple[dg.AssetKey, str], str] = {}

    def selected(self, key: dg.AssetKey) -> bool:
        return key in self.context.selected_asset_keys

    def stored(self, asset: dg.AssetKey, keys: list[str], model: type[T]) -> StageOutcome[T]:
        """An unselected stage's results, read only when a selected stage consumes them."""
        if not any(self.selected(consumer) for consumer in CONSUMERS[asset]):
            return StageOutcome(asset.to_user_string())
        return self.load(asset, keys, model)

    def note_failures(self, outcome: StageOutcome[T], ran: bool = True) -> None:
        """Report each failed character; keep a dead letter and an observation on the asset
        only when the stage ran (a missing upstream result is not that stage's failure)."""
        for character, reason in outcome.failed.items():
            self.failures[character] = (outcome.stage, reason)
            self.context.log.error(f"{character}: {outcome.stage} failed: {reason}")
            if not ran:
                continue
            key = self.storage.write_dead_letter(
                outcome.stage,
                character,
                DeadLetter(
                    character=character,
                    stage=outcome.stage,
                    reason=reason,
                    batch_job=outcome.job_of.get(character),
                ),
            )
            # Shown on the asset's Events tab for that character: the why, next to the red dot.
            self.context.log_event(
                dg.AssetObservation(
                    asset_key=dg.AssetKey(outcome.stage),
                    partition=character,
                    metadata={
                        "failed": dg.MetadataValue.text(reason),
                        "dead_letter": dg.MetadataValue.path(self.storage.store().uri(key)),
                        **(
                            {"batch_job": outcome.job_of[character]}
                            if character in outcome.job_of
                            else {}
                        ),
                    },
                )
            )

    def load(self, asset: dg.AssetKey, keys: list[str], model: type[T]) -> StageOutcome[T]:
        """Read an upstream stage that is not selected in this run from storage."""
        outcome: StageOutcome[T] = StageOutcome(asset.to_user_string())
        for key in keys:
            try:
                outcome.succeeded[key] = self.storage.read_artifact(asset, key, model)
            except ArtifactNotFoundError:
                outcome.fail(
                    key,
                    f"{asset.to_user_string()} has not been materialized for this character; "
                    "materialize it first (or select it in the same run)",
                )
        self.note_failures(outcome, ran=False)
        return outcome

    def reusable(
        self,
        asset: dg.AssetKey,
        wanted: Mapping[str, U],
        model: type[T],
        still_valid: Callable[[T, U], bool],
    ) -> dict[str, T]:
        """Stored results still valid for what is asked now: they are kept, not paid for again."""
        if self.regenerate:
            return {}
        stored = self.storage.read_artifacts(asset, wanted, model, missing_ok=True)
        kept = {key: old for key, old in stored.items() if still_valid(old, wanted[key])}
        if kept:
            self.context.log.info(
                f"{asset.to_user_string()}: {len(kept)} characters unchanged since their last "
                f"result, kept without a new request: {', '.join(sorted(kept))}"
            )
        return kept

    def version_of(self, asset: dg.AssetKey, key: str) -> str:
        known = self.versions.get((asset, key))
        if known is None:
            known = latest_data_version(self.context.instance, asset, key) or "unknown"
        return known

    def record(
        self,
        asset: dg.AssetKey,
        code_version: str,
        outcome: StageOutcome[T],
        describe: Callable[[T, str], Mapping[str, Any]],
        upstream: dg.AssetKey | None = None,
        own_version: Callable[[T], str] | None = None,
    ) -> Iterator[dg.AssetMaterialization]:
        """Store each succeeded character's artifact, then yield its own materialization.

        Storing comes first: Dagster's IO manager is never reached for these (see module doc).
        """
        pointer = event_cursor(self.context.instance) if upstream else None
        for key in sorted(outcome.succeeded):
            value = outcome.succeeded[key]
            stored = self.storage.store_artifact(asset, key, value)
            upstream_version = self.version_of(upstream, key) if upstream else None
            if own_version is not None:
                version = own_version(value)
            else:
                version = derived_version(code_version, upstream_version or "")
            self.versions[(asset, key)] = version
            self.storage.clear_dead_letter(outcome.stage, key)
            yield dg.AssetMaterialization(
                asset_key=asset,
                partition=key,
                metadata=describe(value, stored.uri),
                tags=version_tags(code_version, version, upstream, upstream_version, pointer),
            )
        self.note_failures(outcome)


@dg.multi_asset(
    name="character_pipeline",
    specs=[source_image.spec, character_analysis.spec, character_prompt.spec, character_image.spec],
    partitions_def=characters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    # One pipeline step at a time (dagster.yaml sets the limit): two overlapping runs over the
    # same characters would otherwise both submit their jobs before either is recorded.
    pool="chargen_batch_jobs",
)
def character_pipeline(
    context: dg.AssetExecutionContext,
    config: PipelineConfig,
    gemini: GeminiBatchResource,
    storage: ChargenStorage,
    inbox: InboxResource,
) -> Iterator[dg.AssetMaterialization]:
    run = _Run(context, storage, config.regenerate)
    keys = sorted(context.partition_keys)
    store = storage.store()
    context.log.info(
        f"{len(keys)} characters: {', '.join(keys[:20])}{' ...' if len(keys) > 20 else ''}"
    )

    # source_image
    if run.selected(SOURCE):
        sources = prepare_sources(
            keys, inbox.source(), store, storage.prefix, config.max_source_side
        )
        yield from run.record(
            SOURCE,
            source_image.CODE_VERSION,
            sources,
            source_image.metadata,
            own_version=lambda source: source.content_hash,
        )
    else:
        sources = run.stored(SOURCE, keys, SourceImages)
    for key, source in sources.succeeded.items():
        for warning in source.skipped_files:
            context.log.warning(f"{key}: skipped {warning}")
    ledger = Ledger(store, storage.prefix)

    # character_analysis
    wanted = [k for k in keys if k not in run.failures]
    if run.selected(ANALYSIS):
        asked_sources = {k: sources.succeeded[k] for k in wanted}
        kept = run.reusable(
            ANALYSIS,
            asked_sources,
            AnalysisRecord,
            lambda old, source: (
                old.source_hash == source.images_hash
                and old.request_version == ANALYSIS_REQUEST_VERSION
                and old.model == gemini.analysis_model
            ),
        )
        analyses = analyse(
            {k: v for k, v in asked_sources.items() if k not in kept},
            store=store,
            runner=gemini.runner(ledger, context.log),
            uploads=gemini.upload_cache(ledger),
            model=gemini.analysis_model,
            delete_uploads=gemini.delete_uploads_after_success,
        )
        analyses.succeeded.update(kept)
        yield from run.record(
            ANALYSIS,
            character_analysis.CODE_VERSION,
            analyses,
            character_analysis.metadata,
            upstream=SOURCE,
        )
    else:
        analyses = run.stored(ANALYSIS, wanted, AnalysisRecord)

    # character_prompt
    wanted = [k for k in keys if k not in run.failures]
    if run.selected(PROMPT):
        prompts = compile_prompts(
            {k: analyses.succeeded[k] for k in wanted},
            sources.succeeded,
            style_override=config.style_override,
            default_aspect_ratio=config.aspect_ratio,
            default_image_size=config.image_size,
        )
        yield from run.record(
            PROMPT,
            character_prompt.CODE_VERSION,
            prompts,
            character_prompt.metadata,
            upstream=ANALYSIS,
        )
    else:
        prompts = run.stored(PROMPT, wanted, CompiledPrompt)

    # character_image
    wanted = [k for k in keys if k not in run.failures]
    if run.selected(IMAGE) and wanted:
        safety = [
            SafetySetting(category=s.category, threshold=s.threshold)
            for s in config.safety_settings
        ]
        asked_prompts = {k: prompts.succeeded[k] for k in wanted}
        kept_images = run.reusable(
            IMAGE,
            asked_prompts,
            GeneratedImage,
            lambda old, prompt: (
                old.prompt_hash == prompt.prompt_hash
                and old.model == gemini.image_model
                and store.exists(old.image_key)
            ),
        )
        todo = {k: v for k, v in asked_prompts.items() if k not in kept_images}
        stream = config.image_mode == "stream" or (config.image_mode == "auto" and len(keys) == 1)
        if stream:
            context.log.info("one character: generating with streamGenerateContent (full price)")
            images = generate_streaming(
                todo,
                store=store,
                prefix=storage.prefix,
                client=StreamingGenerateClient(GoogleGenAIApiAdapter(gemini.connection().client)),
                model=gemini.image_model,
                safety_settings=safety,
                timeout_seconds=gemini.request_timeout_seconds,
            )
        else:
            images = generate_in_batch(
                todo,
                store=store,
                prefix=storage.prefix,
                runner=gemini.runner(ledger, context.log),
                model=gemini.image_model,
                safety_settings=safety,
                delete_input=gemini.delete_uploads_after_success,
            )
        images.succeeded.update(kept_images)
        yield from run.record(
            IMAGE,
            character_image.CODE_VERSION,
            images,
            character_image.metadata,
            upstream=PROMPT,
        )

    if run.failures:
        lines = [f"- {k}: {stage}: {reason}" for k, (stage, reason) in sorted(run.failures.items())]
        raise dg.Failure(
            description=(
                f"{len(run.failures)} of {len(keys)} characters failed; every other character "
                "was materialized. Fix the cause and re-run the failed partitions: only they are "
                "sent again. Dead letters are kept under "
                f"{store.uri(storage.prefix + '/_dead_letters')}.\n" + "\n".join(lines)
            ),
            # The description may be shortened in the UI; this table never is.
            metadata={
                "failed_characters": len(run.failures),
                "failures": dg.MetadataValue.md(
                    "| character | stage | reason |\n|---|---|---|\n"
                    + "\n".join(
                        f"| {k} | {stage} | {reason.replace('|', '/')} |"
                        for k, (stage, reason) in sorted(run.failures.items())
                    )
                ),
            },
        )
