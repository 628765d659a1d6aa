"""The rule for a request someone already claimed: attach, wait, recover, or take it over.

Pure: given the newest claim on a request, its job record and done marker, whether its
claimant is alive and the time, it says what a run that needs the same request does.

    done, no usable result (error line)      -> take over: asking again is a new request
    done, stored, and `regenerate`           -> take over
    done, stored, our copy is stored too     -> kept: nothing to send or read
    done, stored (by another character)      -> attach: read the line from the job's output
    interactive, claimant alive or in lease  -> wait: the call takes seconds
    interactive, claimant dead               -> take over (a cut call leaves nothing to read)
    batch, not created, claimant alive/lease -> wait: it is uploading or creating the job
                                                (not when its Dagster run has ended: a pod or
                                                container that died is seen by its run)
    batch, not created, claimant gone        -> recover: look the job up by its display name
                                                (it may exist); else the job's fence decides:
                                                an owner that reached `create` is waited for,
                                                otherwise the claim is taken over
    batch, job ended FAILED/EXPIRED/CANCELLED -> take over
    batch, job submitted or succeeded        -> attach
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from chargen_resources.gemini.ledger import Claim, JobRecord, LineDone


class Decision(Enum):
    ATTACH = "attach"
    WAIT = "wait"
    RECOVER = "recover"
    TAKE_OVER = "take over"
    KEPT = "kept"


def run_over_decides(job: JobRecord | None, claimant_alive: bool | None) -> bool:
    """Whether `decide` reads `claimant_run_over`: only for a claim on another host whose job
    is not recorded, so Dagster is asked about those alone."""
    return claimant_alive is None and (job is None or job.job_name is None)


def decide(
    claim: Claim,
    job: JobRecord | None,
    done: LineDone | None,
    *,
    claimant_alive: bool | None,
    claimant_run_over: bool,
    at: datetime,
    regenerate: bool,
    ours_stored: bool,
) -> Decision:
    if done is not None:
        if not done.stored or regenerate:
            return Decision.TAKE_OVER
        if ours_stored:
            return Decision.KEPT
        if claim.interactive or job is None or not job.output_file:
            return Decision.TAKE_OVER
        return Decision.ATTACH
    # A live claimant is trusted for twice its lease (it may be uploading thousands of
    # sketches), one no one here can see for its lease; then the claim may be recovered, which
    # the job's fence makes safe even if its owner was only slow.
    lease = claim.lease_until - claim.claimed_at
    in_progress = (claimant_alive is True and at < claim.lease_until + lease) or (
        claimant_alive is None and at < claim.lease_until
    )
    if claim.interactive:
        return Decision.WAIT if in_progress else Decision.TAKE_OVER
    if job is None or job.job_name is None:
        # A claimant on another host (a run's pod or container) whose Dagster run has ended is
        # not waited for: recovering looks its job up by name, and the job's fence still has an
        # owner that reached `create` waited for. (An interactive call has no such fence: only
        # its process, or its lease, can say the call is over.)
        waited = in_progress and not claimant_run_over
        return Decision.WAIT if waited else Decision.RECOVER
    if job.status == "failed":
        return Decision.TAKE_OVER
    return Decision.ATTACH
