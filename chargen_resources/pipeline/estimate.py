"""What a run would send and pay, worked out before anything is sent or written.

The same decisions a run makes, read-only: a stored result still valid is kept, a request whose
claim another live job carries is in flight (paid by that job, not this run), the rest would be
sent. Costs follow the documented token rules (`gemini.tokens`) and list prices
(`gemini.pricing`). Two figures are assumptions, stated here because a budget rests on them: an
analysis answer is taken as `ANALYSIS_OUTPUT_TOKENS` plus `ANALYSIS_THOUGHT_TOKENS` of thinking,
and an image model as thinking `IMAGE_THOUGHT_TOKENS` before its image; a prompt not yet
compiled (its analysis would be new) as the template plus `UNKNOWN_PROMPT_EXTRA_CHARS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    Backend,
    GeneratedImage,
    SourceImages,
    stands_for,
)
from chargen_resources.characters.prompt_compiler import (
    AspectRatio,
    CompiledPrompt,
    ImageSize,
)
from chargen_resources.characters.prompt_template import PromptTemplate
from chargen_resources.characters.requests import (
    ANALYSIS_INSTRUCTION,
    DEFAULT_SAFETY_SETTINGS,
    SafetySetting,
)
from chargen_resources.gemini.claims import Decision, decide, run_over_decides
from chargen_resources.gemini.ledger import Ledger, fingerprint
from chargen_resources.gemini.pricing import PRICES, estimate_cost
from chargen_resources.gemini.tokens import input_image_tokens, output_image_tokens, text_tokens
from chargen_resources.inbox.sources import InboxSource
from chargen_resources.pipeline import analysis_stage, image_stage, stage_names
from chargen_resources.pipeline.outcomes import StageOutcome, unnamed
from chargen_resources.pipeline.packed import PackedModels, only
from chargen_resources.pipeline.prompt_stage import compile_prompts
from chargen_resources.pipeline.source_stage import prepare_sources
from chargen_resources.pipeline.style_stage import stored_style, style_to_price
from chargen_resources.storage.blob_store import BlobNotFoundError, BlobStore
from chargen_resources.storage.documents import get_model
from chargen_resources.storage.layout import artifact_key
from chargen_resources.words import counted

ANALYSIS_OUTPUT_TOKENS = 400
ANALYSIS_THOUGHT_TOKENS = 200
IMAGE_THOUGHT_TOKENS = 150
UNKNOWN_PROMPT_EXTRA_CHARS = 700


class StageEstimate(BaseModel):
    stage: str
    model: str
    send: int = 0  # requests this run would pay for
    kept: int = 0  # stored results still valid: free
    in_flight: int = 0  # carried by another run's live job: paid there, read here for free
    batch_usd: float = 0.0
    interactive_usd: float = 0.0
    sending: list[str] = []  # the characters whose requests would be sent
    unpriced: int = 0  # of `send`: for a model with no recorded list price (not in the costs)
    refused: dict[str, str] = {}  # characters the run would not send at this stage, and why

    def add(self, character: str, model: str, prompt: int, output: int, thoughts: int) -> None:
        self.send += 1
        self.sending.append(character)
        batch = estimate_cost(model, prompt, output, thoughts_tokens=thoughts)
        interactive = estimate_cost(model, prompt, output, thoughts_tokens=thoughts, batch=False)
        if batch is None or interactive is None:
            self.unpriced += 1  # never counted as free: a guard that failed open would pay
            return
        self.batch_usd += batch
        self.interactive_usd += interactive


class Estimate(BaseModel):
    characters: int
    stages: list[StageEstimate]
    unreadable: dict[str, str] = {}  # characters whose input fails (nothing would be sent)
    # Set when priced with an inbox `_style/` that cast_style has not read yet: what changed.
    unread_style: str | None = None

    def cost(self, interactive: bool) -> float:
        """The priced requests' cost (see `unpriced_models` for the ones left out)."""
        return sum(s.interactive_usd if interactive else s.batch_usd for s in self.stages)

    def unpriced_models(self) -> dict[str, int]:
        """Models with no recorded list price that requests would go to, with their count."""
        counts: dict[str, int] = {}
        for s in self.stages:
            if s.unpriced:
                counts[s.model] = counts.get(s.model, 0) + s.unpriced
        return counts

    def unpriced_note(self) -> str | None:
        """Why the total is not the whole cost, or None when every request is priced."""
        unknown = self.unpriced_models()
        if not unknown:
            return None
        which = ", ".join(
            f"{model} ({counted(count, 'request')})" for model, count in unknown.items()
        )
        return (
            f"no list price is recorded for {which}, so those requests are not in the cost "
            f"(chargen_resources/gemini/pricing.py prices {', '.join(sorted(PRICES))})"
        )

    def summary(self, interactive: bool) -> str:
        """One line: what would be sent, and what it would cost at this run's prices."""
        sent = ", ".join(f"{s.stage} {s.send}" for s in self.stages)
        total = counted(sum(s.send for s in self.stages), "request")
        held = counted(sum(s.kept for s in self.stages), "result")
        flying = sum(s.in_flight for s in self.stages)
        price = "interactive" if interactive else "batch"
        note = self.unpriced_note()
        return (
            f"estimate for {counted(self.characters, 'character')}: send "
            f"{f'{sent} ({total})' if sent else 'nothing'}, keep {held}, {flying} already in "
            f"flight; about ${self.cost(interactive):.2f} at {price} prices"
            + (f"; {note}" if note else "")
        )

    def table(self) -> str:
        rows = [
            f"{'stage':<20} {'model':<28} {'send':>5} {'kept':>5} {'in flight':>9} "
            f"{'batch $':>9} {'interactive $':>13}"
        ]
        for s in self.stages:
            rows.append(
                f"{s.stage:<20} {s.model:<28} {s.send:>5} {s.kept:>5} {s.in_flight:>9} "
                f"{_cost_cell(s.batch_usd, s.unpriced, 9)} "
                f"{_cost_cell(s.interactive_usd, s.unpriced, 13)}"
            )
        unpriced = sum(s.unpriced for s in self.stages)
        rows.append(
            f"{'total':<20} {'':<28} {sum(s.send for s in self.stages):>5} "
            f"{sum(s.kept for s in self.stages):>5} {sum(s.in_flight for s in self.stages):>9} "
            f"{_cost_cell(self.cost(False), unpriced, 9)} {_cost_cell(self.cost(True), unpriced, 13)}"
        )
        for s in self.stages:
            if s.sending:
                shown = ", ".join(s.sending[:20]) + (" ..." if len(s.sending) > 20 else "")
                rows.append(f"{s.stage} would send: {shown}")
        for character, reason in sorted(self.unreadable.items()):
            rows.append(f"not sent: {character}: {unnamed(reason, character)}")
        for s in self.stages:
            for character, reason in sorted(s.refused.items()):
                rows.append(f"{s.stage} not sent: {character}: {unnamed(reason, character)}")
        if note := self.unpriced_note():
            rows.append(f"+?: {note}")
        if self.unread_style:
            rows.append(
                f"style: {self.unread_style}; priced with it as the inbox has it now. Runs wait "
                "for cast_style to read it (the inbox sensor launches that first)."
            )
        return "\n".join(rows)


def _cost_cell(usd: float, unpriced: int, width: int) -> str:
    """A cost column: the sum, marked when requests of an unknown price are left out. Cents,
    and tenths of a cent under a dollar: a request or two costs less than a cent."""
    digits = 3 if 0 < usd < 1 else 2
    return f"{usd:.{digits}f}{'+?' if unpriced else ''}".rjust(width)


class ReadOnlyStore:
    """A store that reads through and drops every write: an estimate writes nothing."""

    def __init__(self, store: BlobStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def put_bytes(self, key: str, data: bytes, content_type: str = "") -> None:
        return None

    def create_new(self, key: str, data: bytes, content_type: str = "") -> bool:
        return False

    def delete(self, key: str) -> None:
        return None

    def remove_empty_folder(self, folder: str) -> None:
        return None

    def move(self, src: str, dst: str) -> None:
        return None

    def copy(self, src: str, dst: str) -> None:
        return None


def not_materialized(stage: str) -> str:
    """Why a run that reads `stage` from storage cannot go on for a character without it."""
    return (
        f"{stage} has not been materialized for this character; materialize it first (or "
        "select it in the same run)"
    )


def _stored(store: BlobStore, prefix: str, stage: str, character: str, model: type[Any]) -> Any:
    try:
        return get_model(store, artifact_key(prefix, stage, character, "json"), model)
    except BlobNotFoundError:
        return None


class _OtherRuns:
    """Whether a run would read a request's answer from another's job, live or finished (its
    output still there), instead of paying: the run's own claim rule decides.

    `run_over(run_id)`, where Dagster's record of runs is at hand, says whether a claimant's
    run has ended: the claim of a pod that died with its run before it made its job is then
    counted as paid here, as the run would recover it (and pay, unless it finds that job).
    Without it such a claim counts as in flight."""

    def __init__(self, ledger: Ledger, run_over: Callable[[str], bool] | None) -> None:
        self.ledger = ledger
        self.run_over = functools.cache(run_over) if run_over is not None else None

    def carry(
        self, stage: str, model: str, character: str, request: Mapping[str, Any], regenerate: bool
    ) -> bool:
        fp = fingerprint(model, {"key": character, "request": request})
        claim = self.ledger.current_claim(stage, fp)
        if claim is None:
            return False
        job, done = self.ledger.standing(claim)
        alive = claim.claimant.is_alive()
        run_id = claim.claimant.run_id
        decision = decide(
            claim,
            job,
            done,
            claimant_alive=alive,
            claimant_run_over=run_over_decides(job, alive)
            and run_id is not None
            and self.run_over is not None
            and self.run_over(run_id),
            at=datetime.now(UTC),
            regenerate=regenerate,
            ours_stored=False,
        )
        return decision in (Decision.ATTACH, Decision.WAIT)


def estimate(
    keys: Iterable[str],
    *,
    inbox: InboxSource,
    store: BlobStore,
    prefix: str,
    ledger: Ledger,
    analysis_model: str,
    image_model: str,
    answering: Backend | None,
    template: PromptTemplate,
    stages: Iterable[str] = stage_names.PIPELINE,
    style_override: str | None = None,
    aspect_ratio: AspectRatio = "9:16",
    image_size: ImageSize = "1K",
    max_source_side: int = 2048,
    regenerate: bool = False,
    safety_settings: Iterable[SafetySetting] = DEFAULT_SAFETY_SETTINGS,
    qa_must_pass: bool = False,
    prepared_sources: StageOutcome[SourceImages] | None = None,
    run_over: Callable[[str], bool] | None = None,
    unread_style: bool = False,
) -> Estimate:
    """What a run over `keys` and `stages` would send and pay; sends and writes nothing.
    `prepared_sources`: the sketches of `keys` as the run itself normalised them, when it did
    already (they are not normalised again here). `run_over`: whether a Dagster run has ended
    (see `_OtherRuns`). `unread_style`: price a `_style/` that cast_style has not read yet as
    the inbox has it (the runs after it will), instead of refusing as a run does."""
    others = _OtherRuns(ledger, run_over)
    keys = sorted(keys)
    selected = set(stages)
    reading = ReadOnlyStore(store)
    unreadable: dict[str, str] = {}
    sources: Mapping[str, SourceImages]
    if stage_names.SOURCE in selected:
        prepared = (
            prepared_sources
            if prepared_sources is not None
            else prepare_sources(keys, inbox, reading, prefix, max_source_side)
        )
        sources, unreadable = prepared.succeeded, dict(prepared.failed)
    else:
        sources = {
            k: v for k in keys if (v := _stored(store, prefix, stage_names.SOURCE, k, SourceImages))
        }
        unreadable.update(  # as the run says of them
            {k: not_materialized(stage_names.SOURCE) for k in keys if k not in sources}
        )
    style, style_unread = None, None
    if stage_names.IMAGE in selected:
        if unread_style:
            style, style_unread = style_to_price(store, prefix, inbox, reading)
        else:
            style = stored_style(store, prefix, inbox)
    if style is not None:  # as the run: a character whose image could never be asked for
        imaged = [
            k
            for k in sources
            if sources[k].locked
            and store.exists(artifact_key(prefix, stage_names.IMAGE, k, "json"))
        ]
        never = image_stage.never_sendable(sources, style, image_model, imaged=imaged)
        unreadable.update(never)
        sources = only(sources, [k for k in sources if k not in never])
    analysis = StageEstimate(stage=stage_names.ANALYSIS, model=analysis_model)
    known: PackedModels[AnalysisRecord] = PackedModels()  # one per character: packed
    for key, source in sources.items():
        old = (
            None
            if regenerate and not source.locked  # a locked one's is kept even so
            else _stored(store, prefix, stage_names.ANALYSIS, key, AnalysisRecord)
        )
        if old is not None and analysis_stage.still_valid(old, source, analysis_model, answering):
            known[key] = old
            if stage_names.ANALYSIS in selected:
                analysis.kept += 1
            continue
        if stage_names.ANALYSIS not in selected:
            continue
        request = analysis_stage.content_request(key, source)
        # As the run: the emulator's drawing is asked for anew of a real backend, never attached.
        anew = regenerate or (old is not None and not stands_for(old.backend, answering))
        if others.carry(analysis.stage, analysis_model, key, request, anew):
            analysis.in_flight += 1
            continue
        prompt_tokens = text_tokens(f"Character id: {key}.") + text_tokens(ANALYSIS_INSTRUCTION)
        prompt_tokens += sum(
            input_image_tokens(analysis_model, i.width, i.height) for i in source.images
        )
        analysis.add(
            key, analysis_model, prompt_tokens, ANALYSIS_OUTPUT_TOKENS, ANALYSIS_THOUGHT_TOKENS
        )

    image = StageEstimate(stage=stage_names.IMAGE, model=image_model)
    if style is not None:
        prompts = compile_prompts(
            known,
            sources,
            template=template,
            style=style,
            style_override=style_override,
            default_aspect_ratio=aspect_ratio,
            default_image_size=image_size,
        ).succeeded
        safety = list(safety_settings)
        for key in sources:
            prompt = prompts.get(key)
            refused = _estimate_image(
                image,
                key,
                prompt,
                sources[key],
                store,
                prefix,
                others,
                regenerate,
                answering,
                qa_must_pass,
                safety,
                image_size,
                # Before its analysis exists a prompt is the template and typical answers.
                text_tokens(template.text) + UNKNOWN_PROMPT_EXTRA_CHARS // 4,
            )
            if refused is not None:
                image.refused[key] = refused
    result = [s for s in (analysis, image) if s.stage in selected]
    return Estimate(
        characters=len(keys), stages=result, unreadable=unreadable, unread_style=style_unread
    )


def _estimate_image(
    image: StageEstimate,
    key: str,
    prompt: CompiledPrompt | None,
    source: SourceImages,
    store: BlobStore,
    prefix: str,
    others: _OtherRuns,
    regenerate: bool,
    answering: Backend | None,
    qa_must_pass: bool,
    safety: list[SafetySetting],
    default_size: ImageSize,
    unknown_prompt_tokens: int,
) -> str | None:
    """Count the character's image as the run would decide it; the reason the run would refuse
    to send it, if it would."""
    model = image.model
    locked = prompt.locked if prompt is not None else source.locked
    old = _stored(store, prefix, stage_names.IMAGE, key, GeneratedImage)
    if locked:  # an approved take is kept whatever changed, even when regenerating
        if old is None:
            return image_stage.LOCKED_WITHOUT_IMAGE
        image.kept += 1
        return None
    if prompt is not None:
        if (
            old is not None
            and not regenerate
            and image_stage.still_valid(old, prompt, model, store, answering, qa_must_pass)
        ):
            image.kept += 1
            return None
        request = image_stage.content_request(prompt, safety)
        anew = regenerate or (old is not None and not stands_for(old.backend, answering))
        if others.carry(image.stage, model, key, request, anew):
            image.in_flight += 1
            return None
        prompt_tokens, size = text_tokens(prompt.text), prompt.image_size
    else:  # its analysis would be new: the prompt is not known yet
        prompt_tokens = unknown_prompt_tokens
        size = (source.spec.image_size if source.spec else None) or default_size
    image.add(key, model, prompt_tokens, output_image_tokens(model, size), IMAGE_THOUGHT_TOKENS)
    return None
