"""``read_batch_output``: a batch output JSONL byte stream to per-line Gemini events.

A line is never materialised. A small incremental JSON scanner of our own walks each line; it
knows the few paths we care about and skips everything else without building objects:

* ``key``, ``error`` (or Vertex's ``status``), ``response.usageMetadata``,
  ``response.promptFeedback``, ``response.candidates[0].finishReason`` and text parts are small
  and are materialised;
* ``response.candidates[0].content.parts[i].inlineData.data`` is streamed as ``ImageStart`` and
  ``ImageDelta`` slices of at most ``slice_chars`` characters, cut straight out of the chunk
  buffer (``bytes.find`` locates the closing quote; no per-byte Python loop).

For each non-blank line: ``LineStart(index)``, the line's events, ``LineEnd(index, key, error,
...)``. A malformed line ends with a ``MALFORMED`` error and reading resumes at the next line; an
input that stops inside a line ends it with a ``TRUNCATED`` error. Images of a line whose
``LineEnd`` carries an error must be discarded by the consumer.

Field order is free: ``key`` may follow ``response``; ``mimeType`` may follow ``data`` (then the
mime type is sniffed from the data); ``"thought": true`` may follow ``inlineData`` (then
``ImageMarkedThought`` follows the image's deltas).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from chargen_resources.streaming.gemini_events import sniff_mime_type
from chargen_resources.streaming.types import (
    BatchOutputEvent,
    ImageDelta,
    ImageMarkedThought,
    ImageStart,
    LineEnd,
    LineError,
    LineStart,
    TextDelta,
    TokenUsage,
    block_reason_of,
    usage_of,
)

DEFAULT_SLICE_CHARS = 256 * 1024
MAX_SMALL_VALUE_BYTES = 16 * 1024 * 1024  # a text part or an error body larger than this is refused
MAX_DEPTH = 64
_SNIFF_CHARS = 16

_SPACE = re.compile(rb"[ \t\r]*")
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NUMBER_BYTES = re.compile(rb"[-+.0-9eE]*")
_LITERALS = {b"t": (b"true", True), b"f": (b"false", False), b"n": (b"null", None)}


class _Malformed(Exception):
    """The line is not the JSON we can read; the message says why."""


class _Truncated(Exception):
    """The input ended inside the line."""


class _Cursor:
    """A window on the byte stream: ``buf[pos:]`` is unread; refilled one chunk at a time."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.buf = b""
        self.pos = 0
        self.base = 0  # stream offset of buf[0]
        self.exhausted = False

    def more(self) -> bool:
        """Append the next non-empty chunk to the unread bytes; False at end of input."""
        for chunk in self._chunks:
            if not chunk:
                continue
            if self.pos >= len(self.buf):
                self.base += len(self.buf)
                self.buf = bytes(chunk)
            else:
                self.base += self.pos
                self.buf = self.buf[self.pos :] + chunk
            self.pos = 0
            return True
        self.exhausted = True
        return False

    def offset(self) -> int:
        return self.base + self.pos

    def peek(self) -> int:
        """Next byte after spaces, tabs and CRs (not consumed). Raises at end of input."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                raise _Truncated

    def expect(self, byte: int, what: str) -> None:
        found = self.peek()
        if found != byte:
            raise _Malformed(f"expected {what} but found {_describe(found)}")
        self.pos += 1

    def ensure(self, count: int) -> bool:
        """Make ``count`` unread bytes available if the input has them."""
        while len(self.buf) - self.pos < count:
            if not self.more():
                return False
        return True

    def skip_to_next_line(self) -> None:
        """Discard through the next LF (or to end of input) without keeping the bytes."""
        while True:
            newline = self.buf.find(b"\n", self.pos)
            if newline >= 0:
                self.pos = newline + 1
                return
            self.pos = len(self.buf)
            if not self.more():
                return

    def raw_string_pieces(self, slice_bytes: int) -> Iterator[bytes]:
        """Pieces of the current string's raw (still escaped) bytes; consumes the closing quote.

        Pieces never split an escape sequence and are at most ``slice_bytes`` long.
        """
        while True:
            buf, pos = self.buf, self.pos
            quote = _closing_quote(buf, pos)
            end = quote if quote >= 0 else _escape_safe_end(buf, pos, len(buf))
            newline = buf.find(b"\n", pos, end)
            if newline >= 0:
                self.pos = newline
                raise _Malformed("the line ends inside a string")
            while pos < end:
                stop = min(end, pos + slice_bytes)
                if stop < end:
                    stop = _escape_safe_end(buf, pos, stop)
                yield buf[pos:stop]
                pos = stop
                self.pos = pos
            if quote >= 0:
                self.pos = quote + 1
                return
            if not self.more():
                raise _Truncated


def _closing_quote(buf: bytes, start: int) -> int:
    """Index of the first unescaped quote at or after ``start``, or -1."""
    quote = buf.find(b'"', start)
    while quote >= 0:
        backslashes = 0
        index = quote - 1
        while index >= start and buf[index] == 0x5C:
            backslashes += 1
            index -= 1
        if backslashes % 2 == 0:
            return quote
        quote = buf.find(b'"', quote + 1)
    return -1


def _escape_safe_end(buf: bytes, start: int, end: int) -> int:
    """Largest cut <= ``end`` that does not split an escape (``\\x`` or ``\\uXXXX``)."""
    window_start = max(start, end - 6)
    slash = buf.rfind(b"\\", window_start, end)
    if slash < 0:
        return end
    run_start = slash
    while run_start > start and buf[run_start - 1] == 0x5C:
        run_start -= 1
    if (slash - run_start) % 2 == 1:
        return end  # this backslash is the second half of an escaped backslash
    length = 6 if buf[slash + 1 : slash + 2] == b"u" else 2
    return slash if slash + length > end else end


def _describe(byte: int) -> str:
    if byte == 0x0A:
        return "the end of the line"
    return repr(chr(byte))


def _unescape(raw: bytes) -> str:
    """Decode the raw bytes of a JSON string body (escapes, UTF-8) exactly as JSON does."""
    if b"\\" not in raw:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise _Malformed(f"a string holds invalid UTF-8 ({error.reason})") from None
        return text
    try:
        value = json.loads(b'"' + raw + b'"')
    except json.JSONDecodeError as error:
        raise _Malformed(f"a string holds an invalid escape ({error.msg})") from None
    assert isinstance(value, str)
    return value


@dataclass
class _LineState:
    """What one line has told us so far."""

    index: int
    key: str | None = None
    has_response: bool = False
    error: LineError | None = None
    finish_reason: str | None = None
    usage: TokenUsage | None = None
    block_reason: str | None = None

    def end(self, error: LineError | None = None) -> LineEnd:
        final_error = error or self.error
        if final_error is None and not self.has_response:
            final_error = LineError(
                status="MISSING_RESPONSE", message="the line has neither 'response' nor 'error'"
            )
        return LineEnd(
            index=self.index,
            key=self.key,
            error=final_error,
            finish_reason=self.finish_reason,
            usage=self.usage,
            block_reason=self.block_reason,
        )


class _LineWalker:
    """Walks one line's JSON with the cursor, yielding events for the paths we care about."""

    def __init__(self, cursor: _Cursor, state: _LineState, slice_chars: int) -> None:
        self.cursor = cursor
        self.state = state
        self.slice_chars = slice_chars

    # -- generic JSON -------------------------------------------------------------------------

    def members(self, what: str) -> Iterator[str]:
        """Keys of an object, one at a time; the caller consumes each value."""
        cursor = self.cursor
        if self.null_consumed():
            return
        cursor.expect(0x7B, f"'{{' to open {what}")
        if cursor.peek() == 0x7D:
            cursor.pos += 1
            return
        while True:
            cursor.expect(0x22, f"a quoted key in {what}")
            key = self.small_string_body()
            cursor.expect(0x3A, f"':' after the key {key!r} in {what}")
            yield key
            found = cursor.peek()
            if found not in (0x7D, 0x2C):  # the LF of the line stays unread for the caller
                raise _Malformed(f"expected ',' or '}}' in {what} but found {_describe(found)}")
            cursor.pos += 1
            if found == 0x7D:
                return

    def elements(self, what: str) -> Iterator[int]:
        """Indices of an array; the caller consumes each element."""
        cursor = self.cursor
        if self.null_consumed():
            return
        cursor.expect(0x5B, f"'[' to open {what}")
        if cursor.peek() == 0x5D:
            cursor.pos += 1
            return
        index = 0
        while True:
            yield index
            index += 1
            found = cursor.peek()
            if found not in (0x5D, 0x2C):
                raise _Malformed(f"expected ',' or ']' in {what} but found {_describe(found)}")
            cursor.pos += 1
            if found == 0x5D:
                return

    def shape_members(self, what: str) -> Iterator[str]:
        """Members of an object the batch output shape expects; a value of another type (null,
        a string...) is valid JSON, so it is skipped and read as absent, not as a broken line."""
        if self.cursor.peek() != 0x7B:
            self.skip()
            return
        yield from self.members(what)

    def shape_elements(self, what: str) -> Iterator[int]:
        """Indices of an array the shape expects; any other value is skipped as absent."""
        if self.cursor.peek() != 0x5B:
            self.skip()
            return
        yield from self.elements(what)

    def null_consumed(self) -> bool:
        """Consume a ``null`` standing where a container may be; True if there was one."""
        if self.cursor.peek() != 0x6E:
            return False
        self.scalar(0x6E)
        return True

    def small_string_body(self) -> str:
        pieces: list[bytes] = []
        size = 0
        for piece in self.cursor.raw_string_pieces(1 << 20):
            size += len(piece)
            if size > MAX_SMALL_VALUE_BYTES:
                raise _Malformed(f"a text value is larger than {MAX_SMALL_VALUE_BYTES} bytes")
            pieces.append(piece)
        return _unescape(b"".join(pieces))

    def value(self, depth: int = 0) -> Any:
        """Materialise a small value (objects, arrays, strings, numbers, literals)."""
        if depth > MAX_DEPTH:
            raise _Malformed(f"nesting deeper than {MAX_DEPTH}")
        cursor = self.cursor
        found = cursor.peek()
        if found == 0x22:
            cursor.pos += 1
            return self.small_string_body()
        if found == 0x7B:
            return {key: self.value(depth + 1) for key in self.members("an object")}
        if found == 0x5B:
            return [self.value(depth + 1) for _ in self.elements("an array")]
        return self.scalar(found)

    def skip(self, depth: int = 0) -> None:
        """Consume a value of any size without building it."""
        if depth > MAX_DEPTH:
            raise _Malformed(f"nesting deeper than {MAX_DEPTH}")
        cursor = self.cursor
        found = cursor.peek()
        if found == 0x22:
            cursor.pos += 1
            for _ in cursor.raw_string_pieces(1 << 30):
                pass
        elif found == 0x7B:
            for _ in self.members("an object"):
                self.skip(depth + 1)
        elif found == 0x5B:
            for _ in self.elements("an array"):
                self.skip(depth + 1)
        else:
            self.scalar(found)

    def scalar(self, found: int) -> Any:
        cursor = self.cursor
        literal = _LITERALS.get(bytes([found]))
        if literal is not None:
            text, result = literal
            if not cursor.ensure(len(text)):
                raise _Truncated
            if cursor.buf[cursor.pos : cursor.pos + len(text)] != text:
                raise _Malformed(f"expected {text.decode()} but found {_describe(found)}")
            cursor.pos += len(text)
            return result
        # A number may be cut by a chunk boundary anywhere ("-", "1.", "1e+"): read the whole
        # run of number bytes before judging it. Values live inside the line object, so an
        # input that ends inside a number ends inside the line.
        while True:
            end = _NUMBER_BYTES.match(cursor.buf, cursor.pos).end()  # type: ignore[union-attr]
            if end < len(cursor.buf):
                break
            if not cursor.more():
                raise _Truncated
        number = cursor.buf[cursor.pos : end]
        if not number:
            raise _Malformed(f"expected a value but found {_describe(found)}")
        if _NUMBER.fullmatch(number) is None:
            raise _Malformed(f"{number.decode()!r} is not a JSON number")
        cursor.pos = end
        return float(number) if any(c in number for c in b".eE") else int(number)

    # -- the batch output shape ---------------------------------------------------------------

    def line(self) -> Iterator[BatchOutputEvent]:
        if self.cursor.peek() != 0x7B:
            raise _Malformed("the line is not a JSON object")
        for name in self.members("the line object"):
            if name == "key":
                key = self.value()
                # A number key is kept as its JSON text; null means no key.
                self.state.key = key if isinstance(key, str) or key is None else json.dumps(key)
            elif name == "response":
                self.state.has_response = True
                yield from self.response()
            elif name == "error":
                self.state.error = _line_error(self.value())  # None when the error is null
            elif name == "status":  # Vertex AI batch output: a non-empty status means failure
                status = self.value()
                if isinstance(status, str) and status:
                    self.state.error = LineError(message=status)
            else:
                self.skip()

    def response(self) -> Iterator[BatchOutputEvent]:
        if self.cursor.peek() != 0x7B:
            self.skip()  # null or not an object: as if there were no response
            self.state.has_response = False
            return
        for name in self.members("'response'"):
            if name == "candidates":
                for index in self.shape_elements("'candidates'"):
                    if index == 0:
                        yield from self.candidate()
                    else:
                        self.skip()
            elif name in ("usageMetadata", "usage_metadata"):
                self.state.usage = usage_of(self.value())
            elif name in ("promptFeedback", "prompt_feedback"):
                self.state.block_reason = block_reason_of(self.value()) or self.state.block_reason
            else:
                self.skip()

    def candidate(self) -> Iterator[BatchOutputEvent]:
        for name in self.shape_members("a candidate"):
            if name == "content":
                for content_name in self.shape_members("'content'"):
                    if content_name == "parts":
                        for _ in self.shape_elements("'parts'"):
                            yield from self.part()
                    else:
                        self.skip()
            elif name in ("finishReason", "finish_reason"):
                reason = self.value()
                self.state.finish_reason = str(reason) if isinstance(reason, str) else None
            else:
                self.skip()

    def part(self) -> Iterator[BatchOutputEvent]:
        thought = False
        text: str | None = None
        image_thought: bool | None = None  # the thought flag the image was announced with
        if self.cursor.peek() != 0x7B:
            self.skip()
            return
        for name in self.members("a part"):
            if name == "text":
                value = self.value()
                text = value if isinstance(value, str) else None
            elif name == "thought":
                thought = self.value() is True
            elif name in ("inlineData", "inline_data"):
                for event in self.inline_data(thought):
                    if isinstance(event, ImageStart):
                        image_thought = event.thought
                    yield event
            else:
                self.skip()
        if text:
            yield TextDelta(text=text, thought=thought)
        if image_thought is False and thought:
            yield ImageMarkedThought()

    def inline_data(self, thought: bool) -> Iterator[BatchOutputEvent]:
        mime_type = ""
        for name in self.shape_members("'inlineData'"):
            if name in ("mimeType", "mime_type"):
                value = self.value()
                mime_type = value if isinstance(value, str) else ""
            elif name == "data" and self.cursor.peek() == 0x22:
                self.cursor.pos += 1
                yield from self.image_data(mime_type, thought)
            else:
                self.skip()

    def image_data(self, mime_type: str, thought: bool) -> Iterator[BatchOutputEvent]:
        """Stream the base64 string as ImageStart then ImageDelta slices."""
        pieces = self.cursor.raw_string_pieces(self.slice_chars)
        started = False
        head: list[str] = []
        head_length = 0
        for piece in pieces:
            text = _image_text(piece)
            if not started:
                head.append(text)
                head_length += len(text)
                if head_length < _SNIFF_CHARS and not mime_type:
                    continue
                started = True
                yield ImageStart(
                    mime_type=mime_type or sniff_mime_type("".join(head)), thought=thought
                )
                for held in head[:-1]:  # each piece stays within slice_chars
                    if held:
                        yield ImageDelta(data=held, thought=thought)
            if text:
                yield ImageDelta(data=text, thought=thought)
        if not started:
            first = "".join(head)
            yield ImageStart(mime_type=mime_type or sniff_mime_type(first), thought=thought)
            if first:
                yield ImageDelta(data=first, thought=thought)


def _image_text(raw: bytes) -> str:
    text = _unescape(raw) if b"\\" in raw else _ascii(raw)
    return text


def _ascii(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as error:
        raise _Malformed(
            f"inlineData.data holds a non-ASCII byte 0x{raw[error.start]:02x}; it is not base64"
        ) from None


def _line_error(value: Any) -> LineError | None:
    """The line's ``error`` member as a ``LineError``; ``null`` means no error."""
    if value is None:
        return None
    if not isinstance(value, dict):
        return LineError(message=str(value))
    code = value.get("code")
    status = value.get("status")
    message = value.get("message")
    return LineError(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        status=str(status) if status not in (None, "") else None,
        message=str(message) if message is not None else json.dumps(value)[:2000],
    )


def read_batch_output(
    chunks: Iterable[bytes], *, slice_chars: int = DEFAULT_SLICE_CHARS
) -> Iterator[BatchOutputEvent]:
    """Yield ``LineStart``, the line's Gemini events and ``LineEnd`` for each non-blank line.

    ``index`` counts non-blank lines; error messages give the line number in the file (blank
    lines counted) so that an operator can look at the line with ``sed -n Np``.
    """
    if slice_chars < 16:
        raise ValueError("slice_chars must be at least 16")
    cursor = _Cursor(chunks)
    if cursor.ensure(3) and cursor.buf.startswith(b"\xef\xbb\xbf"):
        cursor.pos = 3  # a UTF-8 byte order mark
    index = 0
    line_number = 1  # of the file, blank lines included
    while True:
        blank_lines = _skip_blank_lines(cursor)
        if blank_lines is None:
            return
        line_number += blank_lines
        where = f"line {line_number}" + (
            f" (record {index + 1})" if line_number != index + 1 else ""
        )
        state = _LineState(index=index)
        line_start = cursor.offset()
        yield LineStart(index=index)
        try:
            yield from _LineWalker(cursor, state, slice_chars).line()
            _finish_line(cursor)
        except _Truncated:
            yield state.end(
                LineError(
                    status="TRUNCATED",
                    message=f"{where}: the input ends inside this line "
                    f"({cursor.offset() - line_start} bytes read); the download was cut short, "
                    "fetch the output file again",
                )
            )
            return
        except _Malformed as problem:
            error = LineError(
                status="MALFORMED",
                message=f"{where}, byte {cursor.offset() - line_start + 1}: {problem}",
            )
            cursor.skip_to_next_line()
            yield state.end(error)
        else:
            yield state.end()
        index += 1
        line_number += 1


def _skip_blank_lines(cursor: _Cursor) -> int | None:
    """Skip blank lines; how many, or None when the input ends first."""
    skipped = 0
    while True:
        try:
            found = cursor.peek()
        except _Truncated:
            return None
        if found != 0x0A:
            return skipped
        cursor.pos += 1
        skipped += 1


def _finish_line(cursor: _Cursor) -> None:
    """After the top-level value: only spaces, then LF or end of input."""
    try:
        found = cursor.peek()
    except _Truncated:
        return
    if found != 0x0A:
        raise _Malformed(f"unexpected {_describe(found)} after the JSON object")
    cursor.pos += 1
