"""The four character assets, executed as one step so one bad character never blocks the others.

Each asset is its own node in the graph with its own code version and lineage per character.
They share one step because a Dagster step that fails skips everything downstream of it in the
run: here a character that fails at analysis is simply left out of the later stages, while every
other character goes on to its image in the same run. The step is a short loop over the declared
stages (`stages.PIPELINE`): each selected stage computes, stores each result, logs one
materialization per character, and only then lets the ledger mark its requests done. A stage
that is not selected is read from storage when a selected stage needs it. The step fails at the
end, naming the characters that did not make it.

No lock: runs over the same characters proceed at once, and each paid request is carried by one
batch job whichever run needs it (`chargen_resources.gemini.batch_jobs`).
"""

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.definitions.data_version import NULL_DATA_VERSION
from dagster._core.storage.tags import BACKFILL_ID_TAG, RETRY_ON_ASSET_OR_OP_FAILURE_TAG

from chargen_assets import character_image, character_prompt, source_image, stages
from chargen_assets.partitions import characters
from chargen_assets.provenance import (
    derived_version,
    latest_data_version,
    latest_materializations,
    latest_storage_ids,
    version_tags,
)
from chargen_assets.resources import GeminiBatchResource, InboxResource
from chargen_assets.stage import CheckVerdict, PipelineConfig, Stage, StageRun
from chargen_assets.stopping import NOTHING_SENT, stopping
from chargen_assets.storage import ArtifactNotFoundError, ChargenStorage, StoredArtifact
from chargen_resources.characters.artifacts import CastStyle, DeadLetter, SourceImages
from chargen_resources.gemini.batch_jobs import BatchJobRunner
from chargen_resources.gemini.budget import BudgetExceeded, MonthlyBudget
from chargen_resources.gemini.crash_points import crash_point
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.inbox.sources import InboxCharacter
from chargen_resources.pipeline.estimate import Estimate, estimate, not_materialized
from chargen_resources.pipeline.outcomes import StageOutcome, unnamed
from chargen_resources.pipeline.sent_inputs import sent_inputs_hash
from chargen_resources.pipeline.source_stage import prepare_sources
from chargen_resources.pipeline.style_stage import stored_style
from chargen_resources.storage.blob_store import IO_THREADS
from chargen_resources.storage.layout import DEAD_LETTERS_DIR, beside_results
from chargen_resources.streaming.ahead import each_ahead, worked_ahead
from chargen_resources.words import counted, shortened

NEVER_MADE = NULL_DATA_VERSION.value
# The metadata entry that marks the step's failure as "some characters failed" (not a crash).
FAILED_CHARACTERS = "failed_characters"
# A check run without its asset (the Checks tab's "Execute") finds some characters never drawn.
NO_IMAGE_STORED = "no image of this character is stored yet: materialize its character_image"
RETRY_ADVICE = (
    "fix the cause named here, then materialize this character again (select its partition, or "
    "let the inbox sensor pick up the changed folder): only it is sent again"
)
PipelineEvent = dg.AssetMaterialization | dg.AssetCheckEvaluation


class _Run:
    """What one execution of the pipeline step knows and records."""

    def __init__(
        self, context: dg.AssetExecutionContext, storage: ChargenStorage, inbox: InboxResource
    ) -> None:
        self.context = context
        self.storage = storage
        self.inbox = inbox
        self._inbox_listing: dict[str, InboxCharacter] | None = None
        self._style: CastStyle | None = None
        self.failures: dict[str, tuple[str, str]] = {}
        self.versions: dict[tuple[dg.AssetKey, str], str] = {}
        self.paid_usd = 0.0  # what this run's own requests cost (results it sent for)
        self.paid_requests = 0
        self.kept_results = 0
        self.checked: set[tuple[dg.AssetKey, str]] = set()  # (asset, character) with verdicts
        # The materializations the verdicts of each checked stage were aimed at, by character
        # (read once: the verdicts of characters left unchecked may be aimed at them too).
        self.aimed_at: dict[
            dg.AssetKey, dict[str, AssetCheckEvaluationTargetMaterializationData]
        ] = {}
        # A request sent but failed is usually billed too (a refusal for its prompt at least):
        # counted at the estimate's price per request of its stage, the safe side for budgets.
        self.unit_cost: dict[str, float] = {}
        # The sketches normalised (and stored) for the estimate, until the source stage takes
        # them: a studio's scans take a while each, and are not normalised twice.
        self.prepared_sources: StageOutcome[SourceImages] | None = None

    def take_prepared_sources(self, keys: list[str]) -> StageOutcome[SourceImages] | None:
        """The prepared sketches when they are those of `keys`, handed over once (not held for
        the rest of the run)."""
        prepared, self.prepared_sources = self.prepared_sources, None
        if prepared is None or set(prepared.succeeded.keys() | prepared.failed) != set(keys):
            return None
        return prepared

    def selected(self, key: dg.AssetKey) -> bool:
        return key in self.context.selected_asset_keys

    def wanted(self, keys: list[str]) -> list[str]:
        return [k for k in keys if k not in self.failures]

    def note_failures(self, outcome: StageOutcome[Any], ran: bool = True) -> None:
        """Report each failed character; keep a dead letter and an observation on the asset
        only when the stage ran (a missing upstream result is not that stage's failure)."""
        for character, reason in outcome.failed.items():
            # Told beside the character's name (log, failure table, its check): named once.
            told = unnamed(reason, character)
            self.failures[character] = (outcome.stage, told)
            self.context.log.error(f"{character}: {outcome.stage} failed: {told}")
            if not ran:
                continue
            if character in outcome.paid_here:
                self.paid_requests += 1
                self.paid_usd += self.unit_cost.get(outcome.stage, 0.0)
            job = outcome.job_of.get(character)
            content = character in outcome.content_failures
            key = self.storage.write_dead_letter(
                outcome.stage,
                character,
                DeadLetter(
                    character=character,
                    stage=outcome.stage,
                    reason=reason,
                    batch_job=job,
                    content=content,
                    inputs=self.inbox_fingerprint(character) if content else None,
                    inputs_content=(
                        self.inbox_content(character, outcome.stage) if content else None
                    ),
                    code=stages.CODE_FINGERPRINT if content else None,
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
                        **({"batch_job": job} if job else {}),
                    },
                )
            )

    def stopped(self, stage: str, characters: list[str], reason: str) -> None:
        """A stage that stopped as a whole leaves each of its characters a dead letter saying
        why, so the catalog and the gallery show the cause now, not an older one. Best effort:
        the storage may be what failed (the step's failure says it either way)."""

        def letter(character: str) -> None:
            record = DeadLetter(character=character, stage=stage, reason=reason)
            self.storage.write_dead_letter(stage, character, record)

        try:
            each_ahead(letter, characters, threads=IO_THREADS, name="dead-letter")
        except Exception as error:
            self.context.log.warning(f"the dead letters of {stage} could not be written: {error}")

    def started_at(self) -> datetime | None:
        """When the logical run began: its first attempt, for a retry or re-execution."""
        root = self.context.run.tags.get("dagster/root_run_id") or self.context.run.run_id
        record = self.context.instance.get_run_record_by_id(root)
        if record is None:
            return None
        created = record.create_timestamp
        return created if created.tzinfo else created.replace(tzinfo=UTC)  # SQLite: naive UTC

    def cast_style(self) -> CastStyle:
        """The stored style guide, read when a stage first asks (reading it lists the inbox,
        to tell whether `_style/` changed since: once a run, not once a stage)."""
        if self._style is None:
            self._style = stored_style(
                self.storage.store(), self.storage.prefix, self.inbox.source()
            )
        return self._style

    def _listed(self) -> dict[str, InboxCharacter]:
        """The inbox's characters now (listed once per run, when first needed)."""
        if self._inbox_listing is None:
            self._inbox_listing = {c.key: c for c in self.inbox.source().list_characters()}
        return self._inbox_listing

    def inbox_fingerprint(self, character: str) -> str | None:
        """The character's inbox fingerprint now."""
        listed = self._listed().get(character)
        return listed.fingerprint if listed is not None else None

    def inbox_content(self, character: str, stage: str) -> str | None:
        """The hash of the bytes `stage`'s request is made of now (read for a content failure
        only): an analysis sends the sketches alone, not character.yaml."""
        listed = self._listed().get(character)
        return sent_inputs_hash(self.inbox.source(), listed, stage) if listed else None

    def load(self, stage: Stage[Any], keys: list[str]) -> StageOutcome[Any]:
        """Read a stage that is not selected in this run from storage."""
        outcome: StageOutcome[Any] = StageOutcome(stage.name)
        found = self.storage.read_artifacts(stage.key, keys, stage.artifact, missing_ok=True)
        for key in keys:
            if key in found:
                outcome.succeeded[key] = found[key]
            else:
                outcome.fail(key, not_materialized(stage.name))
        self.note_failures(outcome, ran=False)
        return outcome

    def version_of(self, asset: dg.AssetKey, key: str) -> str:
        partition = stages.partition_of(asset, key)
        known = self.versions.get((asset, partition or ""))
        if known is None:
            # Never materialized: the version Dagster's stale resolver gives such an input.
            known = latest_data_version(self.context.instance, asset, partition) or NEVER_MADE
            if partition is None:  # read once per run
                self.versions[(asset, "")] = known
        return known

    def record(self, stage: Stage[Any], outcome: StageOutcome[Any]) -> Iterator[PipelineEvent]:
        """Store each succeeded character's artifact, then yield its own materialization.

        Storing comes first: Dagster's IO manager is never reached for these (see module doc).
        """
        for key in sorted(outcome.kept_elsewhere - outcome.failed.keys()):
            try:  # another run stored it while this one decided: read it back, pay nothing
                outcome.succeeded[key] = self.storage.read_artifact(stage.key, key, stage.artifact)
            except ArtifactNotFoundError:
                outcome.fail(
                    key, "its result was stored by another run and then removed; re-run it"
                )
        # The input materializations each character's result was made from, per input: the
        # lineage Dagster's tags point at (one query per input, not per character).
        consumed = {
            up: latest_storage_ids(
                self.context.instance,
                up,
                sorted(outcome.succeeded) if up in stages.PIPELINE_KEYS else None,
            )
            for up in stage.upstream
        }

        def store(key: str) -> tuple[str, Any, StoredArtifact]:
            value = outcome.succeeded[key]
            stored = self.storage.store_artifact(stage.key, key, value)
            crash_point("result-stored")
            self.storage.clear_dead_letter(stage.name, key)
            return key, value, stored

        # Stored a few ahead, in threads, while Dagster logs the materializations before them;
        # each is logged only once its own result is stored.
        self.storage.store()  # build the client once, before the threads share it
        ahead = worked_ahead(store, sorted(outcome.succeeded), threads=IO_THREADS, name="store")
        for key, value, stored in ahead:
            metadata = dict(stage.metadata(value, stored.uri))
            if hasattr(value, "estimated_cost_usd"):  # a paid stage's result
                # What this run paid for it: a result kept or read from an earlier job shows
                # its original cost, mode and job, and was free here.
                paid = (value.estimated_cost_usd or 0.0) if key in outcome.paid_here else 0.0
                metadata["paid_this_run_usd"] = round(paid, 4)
                if key in outcome.paid_here:
                    self.paid_requests += 1
                    self.paid_usd += paid
                else:
                    self.kept_results += 1
            upstream = {up: self.version_of(up, key) for up in stage.upstream}
            if stage.own_version is not None:
                version = stage.own_version(value)
            else:
                version = derived_version(stage.code_version, "\n".join(upstream.values()))
            self.versions[(stage.key, key)] = version
            yield dg.AssetMaterialization(
                asset_key=stage.key,
                partition=key,
                metadata=metadata,
                tags=version_tags(
                    stage.code_version,
                    version,
                    upstream,
                    {up: ids.get(stages.partition_of(up, key)) for up, ids in consumed.items()},
                ),
            )
        yield from self.checks_of(stage, outcome)
        self.note_failures(outcome)

    def check_selected(self, asset: dg.AssetKey, name: str) -> bool:
        return dg.AssetCheckKey(asset, name) in self.context.selected_asset_check_keys

    def checks_of(self, stage: Stage[Any], outcome: StageOutcome[Any]) -> Iterator[PipelineEvent]:
        """The check verdicts on each result this stage got: a stored one's aimed at the
        materialization just logged; a rejected one's (failed QA) at none."""
        if not any(self.check_selected(stage.key, spec.name) for spec in stage.check_specs):
            return
        targets = latest_materializations(self.context.instance, stage.key, outcome.succeeded)
        self.aimed_at[stage.key] = targets
        for key in sorted(outcome.rejected.keys() | outcome.succeeded.keys()):
            # One result at a time: the succeeded ones may be held packed.
            value = outcome.rejected[key] if key in outcome.rejected else outcome.succeeded[key]
            self.checked.add((stage.key, key))
            yield from self.verdicts(stage, key, stage.checks(value), targets.get(key))

    def unchecked(self, keys: list[str]) -> Iterator[PipelineEvent]:
        """Every character the run planned a check for gets a verdict, else Dagster shows the
        check as failed to execute (red) for it. One the run failed gets its failure (the
        stage, the reason, what to do), aimed at its earlier image if it has one; one whose
        image was kept without being checked here gets that image's verdict. Failures come
        last: the check's "latest execution" is then a failure while there is one."""
        image = character_image.stage
        if not self.check_selected(image.key, character_image.READY_CHECK):
            return
        missing = [k for k in keys if (image.key, k) not in self.checked]
        targets = self.aimed_at.pop(image.key, {})
        unaimed = [k for k in missing if k not in targets]
        targets |= latest_materializations(self.context.instance, image.key, unaimed)
        unfailed = [k for k in missing if k not in self.failures]
        stored = self.storage.read_artifacts(image.key, unfailed, image.artifact, missing_ok=True)
        for key in unfailed:
            if key in stored:
                verdicts = image.checks(stored[key])
            else:
                verdicts = [self.failed(image.name, NO_IMAGE_STORED)]
            yield from self.verdicts(image, key, verdicts, targets.get(key))
        for key in (k for k in missing if k in self.failures):
            stage, reason = self.failures[key]
            verdict = self.failed(stage, f"{stage} failed: {reason}")
            yield from self.verdicts(image, key, [verdict], targets.get(key))

    @staticmethod
    def failed(stage: str, reason: str) -> CheckVerdict:
        """The verdict on a character whose image this run did not make."""
        return CheckVerdict(
            character_image.READY_CHECK,
            False,
            reason,
            {"stage": stage, "what_to_do": RETRY_ADVICE},
        )

    def verdicts(
        self,
        stage: Stage[Any],
        partition: str,
        verdicts: Iterable[CheckVerdict],
        target: AssetCheckEvaluationTargetMaterializationData | None,
    ) -> Iterator[dg.AssetCheckEvaluation]:
        for verdict in verdicts:
            if self.check_selected(stage.key, verdict.check):
                yield self.evaluation(stage.key, partition, verdict, target)

    def evaluation(
        self,
        asset: dg.AssetKey,
        partition: str,
        verdict: CheckVerdict,
        target: AssetCheckEvaluationTargetMaterializationData | None,
    ) -> dg.AssetCheckEvaluation:
        return dg.AssetCheckEvaluation(
            asset_key=asset,
            check_name=verdict.check,
            passed=verdict.passed,
            partition=partition,
            description=verdict.detail,
            metadata={"detail": dg.MetadataValue.text(verdict.detail), **verdict.facts},
            target_materialization_data=target,
        )


class _VerdictsWereYielded(logging.Filter):
    """Drops Dagster's notice that the step "did not yield or return expected outputs" when
    the outputs it names are only this step's checks. Dagster counts a check's output as
    yielded only for an `AssetCheckResult`, which has no partition of its own in a run over
    many characters; this step yields each character's verdict as an `AssetCheckEvaluation`
    (every one, `_Run.unchecked`), so the notice, in every run's log, said what was not so."""

    NOTICE = "did not yield or return expected outputs"

    def __init__(self, check_outputs: Iterable[str]) -> None:
        super().__init__()
        self.check_outputs = frozenset(check_outputs)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        if self.NOTICE not in message:
            return True
        named = set(re.findall(r"'([^']+)'", message.split(self.NOTICE, 1)[1]))
        return not (named and named <= self.check_outputs)


@dg.multi_asset(
    name="character_pipeline",
    specs=[stage.spec for stage in stages.PIPELINE],
    check_specs=[check for stage in stages.PIPELINE for check in stage.check_specs],
    partitions_def=characters,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
)
def character_pipeline(
    context: dg.AssetExecutionContext,
    config: PipelineConfig,
    gemini: GeminiBatchResource,
    storage: ChargenStorage,
    inbox: InboxResource,
) -> Iterator[PipelineEvent]:
    # Dagster logs the notice after the step's last event: the filter stays for the step.
    context.log.addFilter(_VerdictsWereYielded(context.assets_def.check_specs_by_output_name))
    # Whoever launched the run and whatever the instance says (Dagster's default, or a Helm
    # chart that does not render `retryOnAssetOrOpFailure`, retries every failed run): if this
    # step fails, because characters failed or a stage stopped, Dagster does not retry the run
    # (trying them again is the user's call, and may pay again); a run whose worker died, whose
    # failure is not the step's, still is.
    context.instance.add_run_tags(context.run.run_id, {RETRY_ON_ASSET_OR_OP_FAILURE_TAG: "false"})
    run = _Run(context, storage, inbox)
    keys = sorted(context.partition_keys)
    # What fails outside a stage (the store refusing the ledger or the budget, say) is told in
    # words too; a stage's own failure and the failed characters' pass through as they are.
    with stopping("the run", keys, run.failures):
        yield from _pipeline(run, keys, config, gemini, storage, inbox)


def _pipeline(
    run: _Run,
    keys: list[str],
    config: PipelineConfig,
    gemini: GeminiBatchResource,
    storage: ChargenStorage,
    inbox: InboxResource,
) -> Iterator[PipelineEvent]:
    context = run.context
    # Interactive only when asked, or for one character a person launched: backfills (even of
    # one partition) and sensor runs are unattended and wait for batch prices.
    launched_by_hand = BACKFILL_ID_TAG not in context.run.tags
    interactive = config.mode == "interactive" or (
        config.mode == "auto" and len(keys) == 1 and launched_by_hand
    )
    context.log.info(
        f"{counted(len(keys), 'character')} "
        f"({'interactive, full price' if interactive else 'batch'}): "
        f"{', '.join(keys[:20])}{' ...' if len(keys) > 20 else ''}"
    )
    ledger = Ledger(storage.store(), storage.prefix)
    # Reads storage and the inbox: the first thing to meet an unreachable service.
    with stopping("the cost estimate", keys, run.failures):
        if run.selected(source_image.spec.key):
            # Normalised once, for the estimate and then the source stage (nothing is sent).
            run.prepared_sources = prepare_sources(
                keys,
                inbox.source(),
                storage.store(),
                storage.prefix,
                config.max_source_side,
            )
        priced = estimate(
            keys,
            inbox=inbox.source(),
            store=storage.store(),
            prefix=storage.prefix,
            ledger=ledger,
            analysis_model=gemini.analysis_model,
            image_model=gemini.image_model,
            answering=gemini.backend(),
            template=character_prompt.TEMPLATE,
            stages=[stage.name for stage in stages.PIPELINE if run.selected(stage.key)],
            style_override=config.style_override,
            aspect_ratio=config.aspect_ratio,
            image_size=config.image_size,
            max_source_side=config.max_source_side,
            regenerate=config.regenerate,
            safety_settings=config.safety(),
            qa_must_pass=config.qa_must_pass(),
            prepared_sources=run.prepared_sources,
            run_over=run_has_ended(context.instance),
        )
    (context.log.warning if priced.unpriced_note() else context.log.info)(
        priced.summary(interactive)
    )
    _refuse_unpriced(priced, gemini.max_run_cost_usd, gemini.monthly_budget_usd)
    _hold_to_ceiling(priced, interactive, gemini.max_run_cost_usd)
    run.unit_cost = {
        stage.stage: (stage.interactive_usd if interactive else stage.batch_usd) / stage.send
        for stage in priced.stages
        if stage.send
    }
    if priced.cost(interactive) > 0 and not ledger.atomic_create_holds():
        raise dg.Failure(
            description=(
                f"The results store {storage.store().uri(storage.prefix)} does not refuse a "
                "second create of the same key (S3 `If-None-Match: *`), so two runs could both "
                "pay for one request; nothing was sent. Use AWS S3, a recent MinIO, or a local "
                "folder for CHARGEN_STORAGE."
            ),
            metadata={NOTHING_SENT: True},
            allow_retries=False,
        )
    budget = reservation = None
    if gemini.monthly_budget_usd is not None and priced.cost(interactive) > 0:
        budget = MonthlyBudget(storage.store(), storage.prefix, gemini.monthly_budget_usd)
        try:
            reservation = budget.reserve(priced.cost(interactive), context.run.run_id)
        except BudgetExceeded as error:
            reason = str(error)
            raise dg.Failure(
                description=reason[:1].upper() + reason[1:],
                metadata={NOTHING_SENT: True},
                allow_retries=False,
            ) from None
    runner = gemini.runner(ledger, context.log, context.run.run_id, run_has_ended(context.instance))
    try:
        yield from _run_stages(run, keys, config, gemini, storage, inbox, runner, interactive)
        yield from run.unchecked(keys)
    finally:
        context.log.info(
            f"paid this run: about ${run.paid_usd:.3f} for {counted(run.paid_requests, 'request')}; "
            f"{counted(run.kept_results, 'result')} kept or read from other runs' jobs at no cost"
        )
        # On the run itself (its tags), so the Runs page shows what each run cost.
        context.instance.add_run_tags(
            context.run.run_id,
            {
                "chargen/paid_usd": f"{run.paid_usd:.3f}",
                "chargen/paid_requests": str(run.paid_requests),
                "chargen/kept_results": str(run.kept_results),
                # The Runs list shows tags: a run with one failed character of 500 reads so.
                "chargen/made": f"{len(keys) - len(run.failures)} of {len(keys)}",
                **({"chargen/failed": shortened(sorted(run.failures))} if run.failures else {}),
            },
        )
        if budget is not None and reservation is not None:
            budget.settle(reservation, run.paid_usd)
    _fail_for_failures(run, keys, storage)


def run_has_ended(instance: dg.DagsterInstance) -> Callable[[str], bool]:
    """Whether a run has ended, by the instance's record: a claim made by a run worker whose
    pod or container died is recovered (and estimated as paid) as soon as Dagster has failed
    that run."""

    def over(run_id: str) -> bool:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.is_finished

    return over


def _run_stages(
    run: _Run,
    keys: list[str],
    config: PipelineConfig,
    gemini: GeminiBatchResource,
    storage: ChargenStorage,
    inbox: InboxResource,
    runner: BatchJobRunner,
    interactive: bool,
) -> Iterator[PipelineEvent]:
    """The declared stages in order; each selected one computes, records, then settles."""
    context = run.context
    results: dict[dg.AssetKey, StageOutcome[Any]] = {}
    began = run.started_at()
    uploads = gemini.upload_cache(runner.ledger)
    for stage in stages.PIPELINE:
        wanted = run.wanted(keys)
        with stopping(stage.name, wanted, run.failures):
            if run.selected(stage.key):
                # Only a stage that stopped before any result was recorded leaves each of its
                # characters the cause: later, some were made (and their own letters written).
                stopped = partial(run.stopped, stage.name, wanted)
                with stopping(stage.name, wanted, run.failures, record=stopped):
                    outcome = stage.compute(
                        StageRun(
                            keys=wanted,
                            upstream=results,
                            config=config,
                            gemini=gemini,
                            storage=storage,
                            inbox=inbox,
                            runner=runner,
                            uploads=uploads,
                            interactive=interactive,
                            log=context.log,
                            style=run.cast_style,
                            regenerate_since=began,
                            makes_images=run.selected(stages.IMAGE),
                            prepared_sources=run.take_prepared_sources(wanted),
                        )
                    )
                yield from run.record(stage, outcome)
                crash_point("recorded")
                outcome.settle()
            elif any(run.selected(reader.key) for reader in stages.needed_by(stage.key)):
                outcome = run.load(stage, wanted)
            else:
                continue
        results[stage.key] = outcome
        _release_unread(run, results, stage)


def _release_unread(
    run: _Run, results: dict[dg.AssetKey, StageOutcome[Any]], done: Stage[Any]
) -> None:
    """Drop the results (and data versions) no later stage reads: they are stored and recorded
    already, and holding every character's result of every stage made a run's memory grow
    with its cast."""
    later = stages.PIPELINE[stages.PIPELINE.index(done) + 1 :]
    unread = {key for key in results if not any(key in stage.upstream for stage in later)}
    for key in unread:
        del results[key]
    run.versions = {k: v for k, v in run.versions.items() if k[0] not in unread}


def _fail_for_failures(run: _Run, keys: list[str], storage: ChargenStorage) -> None:
    if run.failures:
        lines = [f"- {k}: {stage}: {reason}" for k, (stage, reason) in sorted(run.failures.items())]
        raise dg.Failure(
            description=(
                f"{len(keys) - len(run.failures)} of {len(keys)} characters were materialized; "
                f"{len(run.failures)} failed ({shortened(sorted(run.failures), 5)}). Each "
                "failed character is marked Failed in the assets' Partitions tab, and its "
                f"`{character_image.READY_CHECK}` check on character_image says why. Fix the cause and re-run the "
                "failed partitions: only they are sent again. Dead letters are kept under "
                f"{storage.store().uri(beside_results(storage.prefix, DEAD_LETTERS_DIR))}.\n"
                + "\n".join(lines)
            ),
            # The description may be shortened in the UI; this table never is.
            metadata={
                FAILED_CHARACTERS: len(run.failures),
                "failures": dg.MetadataValue.md(
                    "| character | stage | reason |\n|---|---|---|\n"
                    + "\n".join(
                        f"| {k} | {stage} | {reason.replace('|', '/')} |"
                        for k, (stage, reason) in sorted(run.failures.items())
                    )
                ),
            },
        )


def _refuse_unpriced(priced: Estimate, ceiling: float | None, budget: float | None) -> None:
    """A ceiling or a budget cannot hold a cost no one knows: such a run is refused before
    anything is sent (counting it as free would be a guard that fails open)."""
    note = priced.unpriced_note()
    guards = [
        name
        for name, value in (
            ("cost ceiling (CHARGEN_MAX_RUN_COST_USD)", ceiling),
            ("monthly budget (CHARGEN_MONTHLY_BUDGET_USD)", budget),
        )
        if value is not None
    ]
    if note is None or not guards:
        return
    raise dg.Failure(
        description=(
            f"This run's cost cannot be held to the {' or the '.join(guards)}: {note}. Nothing "
            "was sent. Use a model chargen prices (the gemini resource's analysis_model and "
            "image_model), record the model's price in chargen_resources/gemini/pricing.py, or "
            "unset the guard to send without one."
        ),
        metadata={NOTHING_SENT: True},
        allow_retries=False,
    )


def _hold_to_ceiling(priced: Estimate, interactive: bool, ceiling: float | None) -> None:
    """Refuse, before anything is sent, a run that would cost more than the ceiling."""
    cost = priced.cost(interactive)
    if ceiling is None or cost <= ceiling:
        return
    raise dg.Failure(
        description=(
            f"This run would cost about ${cost:.2f} ({priced.summary(interactive)}), over the "
            f"ceiling of ${ceiling:.2f} per run; nothing was sent. Raise the ceiling "
            "(CHARGEN_MAX_RUN_COST_USD, or max_run_cost_usd on the gemini resource), or select "
            "fewer characters or stages; `chargen estimate` shows the cost of a selection first."
        ),
        metadata={
            NOTHING_SENT: True,
            "estimate_usd": round(cost, 3),
            "ceiling_usd": ceiling,
            "estimate": dg.MetadataValue.md(f"```\n{priced.table()}\n```"),
        },
        allow_retries=False,
    )
