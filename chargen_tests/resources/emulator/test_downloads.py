"""The download helpers: ranges, pacing, cuts."""

from __future__ import annotations

from pathlib import Path

import pytest

from chargen_resources.emulator.downloads import (
    DownloadCuts,
    Span,
    file_chunks,
    paced,
    requested_span,
    truncated,
)
from chargen_resources.emulator.wire import ApiError


@pytest.mark.parametrize(
    ("header", "span"),
    [
        (None, Span(0, 100, 100)),
        ("bytes=0-", Span(0, 100, 100)),
        ("bytes=40-", Span(40, 100, 100)),
        ("bytes=40-49", Span(40, 50, 100)),
        ("bytes=40-500", Span(40, 100, 100)),
        ("bytes=-10", Span(0, 100, 100)),  # suffix ranges are not supported: the whole file
        ("bytes=1-2,5-6", Span(0, 100, 100)),  # nor multiple ranges
    ],
)
def test_requested_span(header: str | None, span: Span) -> None:
    assert requested_span(header, 100) == span


def test_a_range_past_the_end_is_refused_with_416() -> None:
    with pytest.raises(ApiError) as refused:
        requested_span("bytes=100-", 100)
    assert refused.value.http_status == 416


def test_content_range_and_partial() -> None:
    assert Span(40, 50, 100).content_range() == "bytes 40-49/100"
    assert Span(40, 50, 100).partial and not Span(0, 100, 100).partial


def test_file_chunks_read_the_span(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 4)
    assert b"".join(file_chunks(path, Span(10, 700, 1024), chunk=64)) == path.read_bytes()[10:700]


def test_pacing_keeps_the_average_rate_on_a_fake_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    chunks = [b"x" * 100] * 5
    assert list(paced(iter(chunks), 100.0, clock=lambda: now[0], sleep=sleep)) == chunks
    assert now[0] == pytest.approx(4.0)  # the fifth chunk leaves at t=4 s: 500 bytes by t=5
    assert list(paced(iter(chunks), 0, clock=lambda: now[0], sleep=sleep)) == chunks
    assert now[0] == pytest.approx(4.0)  # unpaced: no sleep at all


def test_truncated_stops_after_the_limit() -> None:
    assert b"".join(truncated(iter([b"abc", b"def", b"ghi"]), 5)) == b"abcde"


def test_cuts_are_counted() -> None:
    cuts = DownloadCuts(2)
    assert [cuts.take() for _ in range(3)] == [True, True, False]
