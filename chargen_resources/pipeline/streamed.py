"""An interactive (streamed) answer, framed like one batch output line so one reader serves both."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from chargen_resources.pipeline.batch_results import LineResult, line_results
from chargen_resources.streaming import (
    BatchOutputEvent,
    GeminiEvent,
    LineEnd,
    LineStart,
    StreamDone,
    parse_gemini_events,
    parse_sse,
)

ENDED_EARLY = "STREAM_ENDED_EARLY"


def as_single_line(events: Iterable[GeminiEvent], key: str) -> Iterator[BatchOutputEvent]:
    """Frame a streamed response like one batch line."""
    yield LineStart(index=0)
    for event in events:
        if isinstance(event, StreamDone):
            # Gemini always closes a complete answer with a finishReason; without one the
            # stream was cut, and a half answer must not pass for a finished one.
            yield LineEnd(
                index=0,
                key=key,
                finish_reason=event.finish_reason or ENDED_EARLY,
                usage=event.usage,
                block_reason=event.block_reason,
            )
            return
        yield event
    yield LineEnd(index=0, key=key, finish_reason=ENDED_EARLY)


def streamed_line(body: Iterable[bytes], key: str) -> Iterator[LineResult]:
    """The SSE body of a text answer as its one `LineResult`."""
    events = parse_gemini_events(parse_sse(body))
    return line_results(as_single_line(events, key))
