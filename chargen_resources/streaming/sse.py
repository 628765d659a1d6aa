"""``parse_sse``: bytes to Server-Sent Events, following the WHATWG EventSource parsing rules.

Generic: no JSON, no Gemini. Memory is one event plus the line being read (a multi-megabyte
``data:`` line is kept as a list of pieces, never re-concatenated per chunk).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator

from chargen_resources.streaming.types import SseEvent

DONE_SENTINEL = "[DONE]"
_BOM = "\ufeff"
_LINE_END = re.compile(r"\r\n|\r|\n")


class _EventBuilder:
    """The per-event state of the WHATWG algorithm (data buffer, event type, last event id)."""

    def __init__(self) -> None:
        self.data: list[str] = []
        self.event_type: str | None = None
        self.last_id: str | None = None  # persists across events, as the spec says

    def field(self, line: str) -> None:
        if line.startswith(":"):
            return  # a comment
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event_type = value
        elif name == "id" and "\0" not in value:
            self.last_id = value
        # "retry" and unknown fields are ignored: reconnection is not our business.

    def dispatch(self) -> SseEvent | None:
        """Blank line: build the event, or drop it when no ``data`` field was seen."""
        event_type, self.event_type = self.event_type, None
        if not self.data:
            return None
        data = "\n".join(self.data)
        self.data = []
        return SseEvent(data=data, event=event_type or None, id=self.last_id)


def parse_sse(chunks: Iterable[bytes]) -> Iterator[SseEvent]:
    """Yield each event of an SSE byte stream; stop at EOF or at an event whose data is ``[DONE]``.

    Chunks may split anywhere (inside CRLF, inside a UTF-8 sequence). An event not closed by a
    blank line before EOF is discarded, as the spec requires.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    builder = _EventBuilder()
    partial: list[str] = []  # pieces of the current, unfinished line
    skip_lf = False  # the previous piece ended with CR: a following LF belongs to it
    at_start = True
    for chunk in chunks:
        text = decoder.decode(chunk)
        if not text:
            continue  # e.g. the first bytes of a split UTF-8 sequence
        if at_start:
            at_start = False
            text = text.removeprefix(_BOM)
        if skip_lf:
            skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        for line in _complete_lines(text, partial):
            if line:
                builder.field(line)
                continue
            event = builder.dispatch()
            if event is None:
                continue
            if event.data == DONE_SENTINEL:
                return
            yield event
        skip_lf = text.endswith("\r")


def _complete_lines(text: str, partial: list[str]) -> Iterator[str]:
    """Lines completed by ``text``; the unfinished tail is kept in ``partial``."""
    start = 0
    for match in _LINE_END.finditer(text):
        end = match.start()
        if partial:
            partial.append(text[start:end])
            line = "".join(partial)
            partial.clear()
        else:
            line = text[start:end]
        start = match.end()
        yield line
    if start < len(text):
        partial.append(text[start:])
