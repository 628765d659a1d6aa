"""The rule for an already claimed request, case by case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chargen_resources.gemini.claims import Decision, decide
from chargen_resources.gemini.ledger import Claim, Claimant, JobRecord, JobStatus, LineDone

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CLAIMANT = Claimant(host="h", pid=1)


def _claim(carrier: str = "chargen-image-1") -> Claim:
    return Claim(
        stage="character_image",
        fingerprint="f",
        generation=0,
        carrier=carrier,
        line_key="ash",
        claimant=CLAIMANT,
        claimed_at=NOW,
        lease_until=NOW + timedelta(minutes=15),
    )


def _job(
    status: JobStatus, job_name: str | None = "batches/1", output: str | None = None
) -> JobRecord:
    return JobRecord(
        display_name="chargen-image-1",
        stage="character_image",
        model="m",
        claimant=CLAIMANT,
        status=status,
        job_name=job_name,
        output_file=output,
    )


def _decide(
    claim: Claim,
    job: JobRecord | None,
    done: LineDone | None = None,
    *,
    alive: bool | None = True,
    run_over: bool = False,
    at: datetime = NOW,
    regenerate: bool = False,
    ours_stored: bool = False,
) -> Decision:
    return decide(
        claim,
        job,
        done,
        claimant_alive=alive,
        claimant_run_over=run_over,
        at=at,
        regenerate=regenerate,
        ours_stored=ours_stored,
    )


@pytest.mark.parametrize("status", ["submitted", "succeeded"])
def test_a_live_or_finished_job_is_attached_to(status: JobStatus) -> None:
    assert _decide(_claim(), _job(status), alive=False) is Decision.ATTACH


def test_a_failed_job_is_taken_over() -> None:
    assert _decide(_claim(), _job("failed")) is Decision.TAKE_OVER


def test_a_claim_whose_job_is_not_created_yet_is_waited_for_while_its_claimant_lives() -> None:
    assert _decide(_claim(), _job("submitting", job_name=None)) is Decision.WAIT


def test_a_live_claimant_that_never_submits_is_recovered_after_twice_its_lease() -> None:
    job = _job("submitting", job_name=None)
    assert _decide(_claim(), job, at=NOW + timedelta(minutes=29)) is Decision.WAIT
    assert _decide(_claim(), job, at=NOW + timedelta(minutes=31)) is Decision.RECOVER


def test_a_dead_claimant_s_job_is_looked_up_before_it_is_taken_over() -> None:
    assert _decide(_claim(), _job("submitting", job_name=None), alive=False) is Decision.RECOVER


def test_a_claimant_on_another_host_is_trusted_for_its_lease_only() -> None:
    job = _job("submitting", job_name=None)
    assert _decide(_claim(), job, alive=None) is Decision.WAIT
    late = NOW + timedelta(minutes=16)
    assert _decide(_claim(), job, alive=None, at=late) is Decision.RECOVER


def test_a_claimant_on_another_host_whose_run_ended_is_recovered_at_once() -> None:
    job = _job("submitting", job_name=None)
    assert _decide(_claim(), job, alive=None, run_over=True) is Decision.RECOVER
    assert _decide(_claim(), _job("submitted"), alive=None, run_over=True) is Decision.ATTACH


def test_an_interactive_call_is_waited_for_by_its_lease_even_when_its_run_ended() -> None:
    claim = _claim("interactive-20261130-abc")
    assert _decide(claim, None, alive=None, run_over=True) is Decision.WAIT


def test_an_error_line_is_asked_again() -> None:
    done = LineDone(stored=False, reason="INTERNAL")
    assert _decide(_claim(), _job("consumed", output="files/o"), done) is Decision.TAKE_OVER


def test_a_stored_line_is_kept_if_ours_is_stored_else_read_again_and_regenerate_resends() -> None:
    done = LineDone(stored=True)
    job = _job("consumed", output="files/o")
    assert _decide(_claim(), job, done, ours_stored=True) is Decision.KEPT
    assert _decide(_claim(), job, done) is Decision.ATTACH
    assert _decide(_claim(), job, done, regenerate=True) is Decision.TAKE_OVER


def test_interactive_claims_are_waited_for_while_alive_and_taken_over_when_dead() -> None:
    claim = _claim("interactive-20261130-abc")
    assert _decide(claim, None) is Decision.WAIT
    assert _decide(claim, None, alive=False) is Decision.TAKE_OVER
    assert _decide(claim, None, LineDone(stored=True)) is Decision.TAKE_OVER
    assert _decide(claim, None, LineDone(stored=True), ours_stored=True) is Decision.KEPT
