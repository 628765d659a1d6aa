"""What a pipeline stage is, and what it is given when it runs.

A stage is declared once, in its asset module: its spec (key, code version, upstream assets),
the artifact type it stores, its per-character metadata, and `compute`, which turns this run's
upstream results into its own; its name is in `chargen_resources.pipeline.stage_names`, which
the stage logic below Dagster shares. `pipeline.py` runs the declared stages in a short loop (see
`stages.py` for the table).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import dagster as dg
from pydantic import BaseModel, Field

from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    CastStyle,
    GeneratedImage,
    SourceImages,
    stands_for,
)
from chargen_resources.characters.prompt_compiler import AspectRatio, ImageSize
from chargen_resources.characters.requests import DEFAULT_SAFETY_SETTINGS, SafetySetting
from chargen_resources.gemini.batch_jobs import BatchJobRunner
from chargen_resources.gemini.uploads import UploadCache
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import PackedModels, only
from chargen_resources.pipeline.paid_stage import PaidStage, carry
from chargen_resources.words import counted

T = TypeVar("T", bound=BaseModel)
U = TypeVar("U")


# The results chargen pays for; each names the batch job that made it (None: interactive).
P = TypeVar("P", AnalysisRecord, GeneratedImage)

RequestModeChoice = Literal["auto", "batch", "interactive"]


class SafetySettingConfig(dg.Config):
    category: str
    threshold: str


class PipelineConfig(dg.Config):
    mode: RequestModeChoice = Field(
        default="auto",
        description=(
            "How paid requests are sent. batch: one Gemini batch job per stage, half price, "
            "minutes to hours. interactive: one streamed call per character, full price, "
            "seconds. auto: interactive for a one-character run launched by hand, batch "
            "otherwise (backfills and sensor runs)."
        ),
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
    qa_failures: Literal["warn", "dead_letter"] = Field(
        default="warn",
        description=(
            "warn: an image that fails a QA check is kept and its check fails in the UI. "
            "dead_letter: the character fails with the check's reason, and a rebuild sends it "
            "again (only it)."
        ),
    )
    safety_settings: list[SafetySettingConfig] = Field(
        default_factory=lambda: [
            SafetySettingConfig(category=s.category, threshold=s.threshold)
            for s in DEFAULT_SAFETY_SETTINGS
        ]
    )

    def safety(self) -> list[SafetySetting]:
        return [
            SafetySetting(category=s.category, threshold=s.threshold) for s in self.safety_settings
        ]

    def qa_must_pass(self) -> bool:
        """An image failing QA is not kept (and so is sent again by a rebuild)."""
        return self.qa_failures == "dead_letter"


@dataclass
class StageRun:
    """What one stage gets: the characters asked of it and everything the run knows."""

    keys: list[str]  # the run's characters that no earlier stage failed
    upstream: Mapping[dg.AssetKey, StageOutcome[Any]]
    config: PipelineConfig
    gemini: GeminiBatchResource
    storage: ChargenStorage
    inbox: InboxResource
    runner: BatchJobRunner
    uploads: UploadCache  # one for the run: the image job reuses the analysis job's sketches
    interactive: bool
    log: Any  # Dagster's log manager
    # The cast's style guide as stored, read once per run by the first stage that asks (it
    # cannot change while the step runs: cast_style is materialized before it, if at all).
    style: Callable[[], CastStyle]
    # When the logical run began (its first attempt): results newer than this are not
    # regenerated again by a retry.
    regenerate_since: datetime | None = None
    # Whether this run sends image requests (the image stage is selected): an earlier stage
    # then refuses, before paying, a character whose image could never be asked for.
    makes_images: bool = False
    # The sketches of `keys` as the run normalised them for its estimate: the source stage
    # stores those rather than reading and normalising every sketch a second time.
    prepared_sources: StageOutcome[SourceImages] | None = None

    def results(self, key: dg.AssetKey) -> Mapping[str, Any]:
        """This run's results of an upstream stage for the characters asked of this one
        (packed ones stay packed)."""
        return only(self.upstream[key].succeeded, self.keys)

    def reusable(
        self,
        key: dg.AssetKey,
        wanted: Mapping[str, U],
        model: type[T],
        still_valid: Callable[[T, U], bool],
        kept_when_regenerating: Collection[str] = (),
        drawings: set[str] | None = None,
    ) -> MutableMapping[str, T]:
        """Stored results still valid for what is asked now: kept, not paid for again (held
        packed: a re-run over thousands of unchanged characters keeps them all). With
        `regenerate`, only those of `kept_when_regenerating` are. Into `drawings`, the stored
        results the emulator made when a real backend answers now (`stands_for`)."""
        kept: PackedModels[T] = PackedModels()
        answering = self.gemini.backend()
        looked_at = wanted
        if self.config.regenerate:
            keep = set(kept_when_regenerating)
            looked_at = only(wanted, [k for k in wanted if k in keep])
        if not looked_at:
            return kept
        for k, old in self.storage.iter_artifacts(key, looked_at, model, missing_ok=True):
            if still_valid(old, wanted[k]):
                kept[k] = old
            elif drawings is not None and not stands_for(getattr(old, "backend", None), answering):
                drawings.add(k)
        if kept:
            self.log.info(
                f"{key.to_user_string()}: {counted(len(kept), 'character')} unchanged since the "
                f"last result, kept without a new request: {', '.join(sorted(kept))}"
            )
        return kept

    def pay(
        self,
        key: dg.AssetKey,
        wanted: Mapping[str, U],
        model: type[P],
        still_valid: Callable[[P, U], bool],
        stage: PaidStage[U, P],
        resend: Collection[str] = (),
        kept_when_regenerating: Collection[str] = (),
    ) -> StageOutcome[P]:
        """A paid stage's results: stored ones still valid are kept, the rest carried (sent,
        or attached to another run's job) through the ledger; `resend` are asked anew even
        where an earlier result could be read back; `kept_when_regenerating` keep a valid
        stored result even under `regenerate`."""
        # The emulator's drawings are asked for anew of a real backend: never read back from,
        # or attached to, the emulator's jobs their ledger entries name.
        drawings: set[str] = set()
        kept = self.reusable(key, wanted, model, still_valid, kept_when_regenerating, drawings)

        def stored_meanwhile(character: str) -> bool:  # by another run, while we decided
            found = self.storage.read_artifacts(key, [character], model, missing_ok=True)
            return character in found and still_valid(found[character], wanted[character])

        outcome = carry(
            stage,
            only(wanted, [k for k in wanted if k not in kept]),  # packed ones stay packed
            runner=self.runner,
            interactive=self.interactive,
            regenerate=self.config.regenerate,
            resend={*resend, *drawings},
            kept_from={k: kept[k].batch_job for k in kept},
            regenerate_since=self.regenerate_since,
            ours_stored=stored_meanwhile,
        )
        outcome.succeeded.update(kept)
        return outcome


class CheckVerdict(NamedTuple):
    """One asset check's verdict on one stored result, with what it found in its metadata."""

    check: str
    passed: bool
    detail: str
    facts: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True)
class Stage(Generic[T]):
    spec: dg.AssetSpec
    artifact: type[T]
    metadata: Callable[[T, str], Mapping[str, Any]]
    compute: Callable[[StageRun], StageOutcome[T]]
    # The data version of a result, when it is its own (content hash) rather than derived.
    own_version: Callable[[T], str] | None = None
    # Per-character asset checks, and their verdicts on one stored result.
    check_specs: tuple[dg.AssetCheckSpec, ...] = ()
    checks: Callable[[T], Sequence[CheckVerdict]] = lambda value: ()

    @property
    def key(self) -> dg.AssetKey:
        return self.spec.key

    @property
    def name(self) -> str:
        return self.spec.key.to_user_string()

    @property
    def code_version(self) -> str:
        assert self.spec.code_version is not None
        return self.spec.code_version

    @property
    def upstream(self) -> tuple[dg.AssetKey, ...]:
        return tuple(dep.asset_key for dep in self.spec.deps)
