"""The one loop every paid stage runs: claim, send or attach, read, keep, settle.

A stage chargen pays for (analysis, image) declares only what is its own in a `PaidStage`:
how a character's request looks (content-addressed, for its fingerprint), how to make the
requests really sent in a new batch job, how to read a job's output and an interactive answer
into `LineResult`s, and how a line becomes the stage's result. `carry` does the rest, in the
commit order of `gemini.batch_jobs`; the caller stores and records the results, then calls
`StageOutcome.settle()` so the ledger marks them done and consumed jobs lose their files.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar

from chargen_resources.gemini.batch_jobs import (
    BatchJobRunner,
    BatchOutputUnavailable,
    FinishedJob,
    Prepared,
)
from chargen_resources.gemini.ledger import Claim
from chargen_resources.pipeline.batch_results import LineResult
from chargen_resources.pipeline.errors import in_words, never_sent
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.packed import PackedModels

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class PaidStage(Generic[In, Out]):
    name: str
    model: str
    job_display_name: str
    # The request for one character with uploaded files named by content (`sha256:<hex>`).
    content_request: Callable[[str, In], dict[str, Any]]
    # Output lines of a finished job (images staged in storage); called once per job read.
    read_output: Callable[[FinishedJob, Iterator[bytes]], Iterator[LineResult]]
    # One interactive call for one character, as the line a batch would have returned.
    send_interactive: Callable[[str, In], Iterable[LineResult]]
    # A line's verdict for one character: its result into `outcome.succeeded`, or a failure.
    keep: Callable[[StageOutcome[Out], LineResult, str, In, str | None], None]
    # Drop what a line staged when no character of this run wants it.
    discard: Callable[[LineResult], None] = lambda line: None
    # The requests really sent in a new job for these characters (uploads images); None sends
    # their `content_request`s.
    prepare: Callable[[Sequence[str]], Prepared] | None = None
    # Remove what readers that died left behind (staged images), before this run reads.
    sweep: Callable[[], None] = lambda: None


def carry(
    stage: PaidStage[In, Out],
    inputs: Mapping[str, In],
    *,
    runner: BatchJobRunner,
    interactive: bool,
    regenerate: bool,
    resend: Collection[str] = (),
    ours_stored: Callable[[str], bool] = lambda character: False,
    kept_from: Mapping[str, str | None] | None = None,
    regenerate_since: datetime | None = None,
) -> StageOutcome[Out]:
    """Every character's result of a paid stage, paying at most once per request.

    `kept_from` names the batch job behind each stored result the caller keeps unpaid, so a
    job a crash left unconsumed is finished now (`BatchJobRunner.sweep`)."""
    # Every character's result is held until the run has recorded them all: packed.
    outcome: StageOutcome[Out] = StageOutcome(stage.name, succeeded=PackedModels())
    runner.sweep(stage.name, kept_from or {})
    stage.sweep()
    if not inputs:
        return outcome
    carriage = runner.claim(
        stage=stage.name,
        model=stage.model,
        requests=_Requests(stage.content_request, inputs),
        display_name=stage.job_display_name,
        prepare=stage.prepare,
        interactive=interactive,
        regenerate=regenerate,
        resend=resend,
        ours_stored=ours_stored,
        regenerate_since=regenerate_since,
    )
    outcome.kept_elsewhere.update(carriage.kept)
    outcome.paid_here.update(carriage.paid_here)

    for fp, claim in carriage.interactive.items():
        (character,) = carriage.characters_of[fp]
        try:
            for line in stage.send_interactive(character, inputs[character]):
                stage.keep(outcome, line, character, inputs[character], None)
        except Exception as error:  # one character's failure must not stop the others
            if never_sent(error):  # no connection was made: nothing reached Gemini to bill
                outcome.paid_here.discard(character)
            outcome.fail(
                character,
                f"the interactive request failed: {in_words(error)} Nothing was kept; re-run "
                "this character",
            )
        outcome.settlements.append(
            partial(_settle_interactive, runner, stage.name, claim, outcome, character)
        )

    read: list[FinishedJob] = []
    for job in runner.wait(carriage):
        wanted = {c: line_key for line_key, cs in job.wanted.items() for c in cs}
        outcome.job_of.update(dict.fromkeys(wanted, job.job_name))
        seen: set[str] = set()
        try:
            for line in stage.read_output(job, runner.output_chunks(job)):
                characters = job.wanted.get(line.key or "", [])
                if not characters:
                    stage.discard(line)
                for character in characters:
                    seen.add(character)
                    stage.keep(outcome, line, character, inputs[character], job.job_name)
        except BatchOutputUnavailable as error:
            for character in wanted:
                outcome.fail(character, str(error))
            if error.gone:
                runner.output_lost(job)  # the next run sends these requests again
            continue  # otherwise nothing is marked done: the next run reads the output again
        for character in wanted.keys() - seen:
            outcome.fail(character, f"batch job {job.job_name} returned no line for this character")
        read.append(job)
    for character, reason in carriage.failed.items():
        outcome.fail(character, reason)
    outcome.settlements.append(lambda: runner.settle(stage.name, read, outcome.failed))
    return outcome


class _Requests(Mapping[str, dict[str, Any]], Generic[In]):
    """Each character's content-addressed request, built when looked up: a stage over
    thousands of characters never holds all of its requests at once."""

    def __init__(
        self, build: Callable[[str, In], dict[str, Any]], inputs: Mapping[str, In]
    ) -> None:
        self._build = build
        self._inputs = inputs

    def __getitem__(self, character: str) -> dict[str, Any]:
        return self._build(character, self._inputs[character])

    def __iter__(self) -> Iterator[str]:
        return iter(self._inputs)

    def __len__(self) -> int:
        return len(self._inputs)


def _settle_interactive(
    runner: BatchJobRunner,
    stage: str,
    claim: Claim,
    outcome: StageOutcome[Any],
    character: str,
) -> None:
    runner.settle_interactive(stage, claim, outcome.failed.get(character))
