"""The forgiving JSON dialect Google's API front ends accept besides strict JSON.

The official curl samples send bodies such as ``{'file': {'display_name': 'x'}}`` (single
quotes) and, after shell expansion, ``{'input_config': {'requests': {'file_name': files/123}}}``
(a bare word). The service accepts both, so the emulator does too: strings in single or double
quotes, bare words as strings, and the usual objects, arrays, numbers, true/false/null.
Anything else is still "Invalid JSON payload received".
"""

from __future__ import annotations

import json
import re
from typing import Any

_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
_BARE_WORD = re.compile(r"[A-Za-z0-9_./$@+-]+")
_WHITESPACE = re.compile(r"\s*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\"}
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


class LenientJsonError(ValueError):
    """The text is not JSON even by the forgiving rules; the message says where."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, what: str) -> LenientJsonError:
        return LenientJsonError(f"{what} at position {self.at}")

    def skip_space(self) -> None:
        found = _WHITESPACE.match(self.text, self.at)
        self.at = found.end() if found else self.at

    def peek(self) -> str:
        self.skip_space()
        return self.text[self.at] if self.at < len(self.text) else ""

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"Expected '{char}'")
        self.at += 1

    def value(self) -> Any:
        char = self.peek()
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char in ("'", '"'):
            return self.string()
        if not char:
            raise self.fail("Unexpected end of input")
        number = _NUMBER.match(self.text, self.at)
        word = _BARE_WORD.match(self.text, self.at)
        if word is None:
            raise self.fail(f"Unexpected character {char!r}")
        self.at = word.end()
        if number is not None and number.end() == word.end():
            return json.loads(number.group(0))
        return _LITERALS.get(word.group(0), word.group(0))

    def object(self) -> dict[str, Any]:
        self.expect("{")
        result: dict[str, Any] = {}
        if self.peek() == "}":
            self.at += 1
            return result
        while True:
            key = self.string() if self.peek() in ("'", '"') else self.value()
            if not isinstance(key, str):
                raise self.fail("Expected a field name")
            self.expect(":")
            result[key] = self.value()
            if self.peek() == ",":
                self.at += 1
                continue
            self.expect("}")
            return result

    def array(self) -> list[Any]:
        self.expect("[")
        items: list[Any] = []
        if self.peek() == "]":
            self.at += 1
            return items
        while True:
            items.append(self.value())
            if self.peek() == ",":
                self.at += 1
                continue
            self.expect("]")
            return items

    def string(self) -> str:
        quote = self.peek()
        self.at += 1
        pieces: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            self.at += 1
            if char == quote:
                return "".join(pieces)
            if char != "\\":
                pieces.append(char)
                continue
            if self.at >= len(self.text):
                break
            escaped = self.text[self.at]
            self.at += 1
            if escaped == "u":
                digits = self.text[self.at : self.at + 4]
                if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                    raise self.fail("Invalid \\u escape")
                pieces.append(chr(int(digits, 16)))
                self.at += 4
            else:
                pieces.append(_ESCAPES.get(escaped, escaped))
        raise self.fail("Unterminated string")


def loads_lenient(text: str) -> Any:
    """Parse ``text`` by the forgiving rules; raises LenientJsonError when it still is not JSON."""
    parser = _Parser(text)
    result = parser.value()
    if parser.peek():
        raise parser.fail("Unexpected trailing data")
    return result
