"""Named points where chargen changes durable state, where a test can kill the process.

`CHARGEN_CRASH_AT=<point>` (or `<point>#<n>` for its n-th passage in the process) ends the
process there with `os._exit`, as abruptly as `kill -9` would: no cleanup, no `finally`.
Crash tests walk every point and then re-run to prove that nothing is paid twice. Unset, a
crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os

CRASH_ENV = "CHARGEN_CRASH_AT"
CRASH_EXIT_CODE = 137  # what a shell reports for a process killed by SIGKILL

# Every point, in the order a stage passes them (tests iterate over this).
POINTS = (
    "claimed",  # a request's claim was created
    "job-recorded",  # a job record names the lines it will carry; nothing uploaded yet
    "uploaded",  # reference images are on the Files API
    "input-uploaded",  # the JSONL input file is on the Files API
    "fenced",  # the job's fence says "create"; batches.create not yet called
    "created",  # batches.create returned; the job name is not yet in the ledger
    "submitted",  # the job name is in the ledger
    "polled",  # one poll of a running job
    "succeeded",  # the job's success is in the ledger
    "result-stored",  # one character's result was stored (passed once per character)
    "recorded",  # a stage's results are stored and recorded as materializations
    "line-done",  # one line was marked done in the ledger
    "consumed",  # the job is marked consumed; its files are not yet deleted
)

_passages: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    target, _, nth = spec.partition("#")
    if target != name:
        return
    _passages[name] = _passages.get(name, 0) + 1
    if _passages[name] == int(nth or 1):
        os._exit(CRASH_EXIT_CODE)
