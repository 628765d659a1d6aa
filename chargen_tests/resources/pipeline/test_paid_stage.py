"""The paid-stage loop against the emulator: what it holds while a cast's job is carried."""

import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from google import genai
from pydantic import BaseModel

from chargen_resources.gemini.batch_jobs import BatchJobRunner, FinishedJob, PollPolicy
from chargen_resources.gemini.ledger import Ledger
from chargen_resources.pipeline.batch_results import LineResult, line_results
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.paid_stage import PaidStage, carry
from chargen_resources.storage.blob_store import LocalBlobStore
from chargen_resources.streaming import read_batch_output

MODEL = "gemini-2.5-flash"


class Said(BaseModel):
    text: str


class _Counted(dict[str, Any]):
    """A request that knows how many of its kind are alive at once."""

    alive = 0
    most = 0

    def __init__(self, text: str) -> None:
        super().__init__(contents=[{"role": "user", "parts": [{"text": text}]}])
        _Counted.alive += 1
        _Counted.most = max(_Counted.most, _Counted.alive)
        weakref.finalize(self, _Counted._gone)

    @staticmethod
    def _gone() -> None:
        _Counted.alive -= 1


def _stage() -> PaidStage[str, Said]:
    def read_output(job: FinishedJob, chunks: Iterator[bytes]) -> Iterator[LineResult]:
        return line_results(read_batch_output(chunks))

    def send_interactive(character: str, text: str) -> Iterable[LineResult]:
        raise AssertionError("batch only")

    def keep(
        outcome: StageOutcome[Said], line: LineResult, character: str, text: str, job: str | None
    ) -> None:
        outcome.succeeded[character] = Said(text=line.text)

    return PaidStage(
        name="said",
        model=MODEL,
        job_display_name="said",
        content_request=lambda character, text: _Counted(text),
        read_output=read_output,
        send_interactive=send_interactive,
        keep=keep,
    )


def test_a_cast_job_is_built_and_sent_a_request_at_a_time(
    genai_client: genai.Client, tmp_path: Path
) -> None:
    ledger = Ledger(LocalBlobStore(tmp_path), "chargen")
    runner = BatchJobRunner(genai_client, ledger, poll=PollPolicy(0.01, 0.05, 30), log=print)
    inputs = {f"c{i:03d}": f"Describe character {i} in one word." for i in range(60)}
    _Counted.most = 0

    outcome = carry(_stage(), inputs, runner=runner, interactive=False, regenerate=False)
    outcome.settle()

    assert sorted(outcome.succeeded) == sorted(inputs) and not outcome.failed
    assert outcome.paid_here == set(inputs)
    # Fingerprinted, split and written to the input file one by one, never all at once.
    assert _Counted.most <= 3, _Counted.most  # of 60
    assert _Counted.alive == 0
