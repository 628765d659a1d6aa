"""The fault-marker grammar."""

from __future__ import annotations

from chargen_resources.emulator.faults import batch_faults, request_faults


def test_marker_grammar() -> None:
    faults = request_faults(
        [
            "a [emulator:HTTP-503] b [emulator:slow=2.5]",
            "[emulator:drafts=9]",
            "[emulator:stream-cut][emulator:safety][emulator:line-error]",
        ]
    )
    assert faults.http_status == 503 and faults.slow_seconds == 2.5 and faults.drafts == 2
    assert faults.stream_cut and faults.safety and faults.line_error
    assert request_faults(["plain"]).http_status is None
    assert batch_faults("x [emulator:batch-late-output=3]").late_output_seconds == 3
    assert batch_faults("[emulator:batch-stuck]").outcome == "stuck"
