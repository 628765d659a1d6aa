"""Build one JSON value that satisfies a response schema, whatever the schema.

Both dialects the API accepts are handled: ``responseSchema`` (OpenAPI subset, UPPERCASE types,
``nullable``, ``propertyOrdering``) and ``responseJsonSchema`` (JSON Schema: ``$ref``/``$defs``,
type lists, ``anyOf``/``oneOf``/``allOf``, ``const``, exclusive bounds, ``prefixItems``).
Values come from a ``Hints`` object asked by property name; generic values fill the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Protocol

MAX_DEPTH = 8
DEFAULT_ITEMS = 3


class Hints(Protocol):
    def item_count(self, name: str) -> int | None: ...
    def text(self, name: str, index: int, parent: str = "") -> str | None: ...
    def number(self, name: str, index: int, parent: str = "") -> float | None: ...
    def flag(self, name: str) -> bool | None: ...
    def choose(self, name: str, options: Sequence[Any]) -> Any: ...


class NoHints:
    """Generic values only (used when there is nothing to say about the request)."""

    def item_count(self, name: str) -> int | None:
        return None

    def text(self, name: str, index: int, parent: str = "") -> str | None:
        return None

    def number(self, name: str, index: int, parent: str = "") -> float | None:
        return None

    def flag(self, name: str) -> bool | None:
        return None

    def choose(self, name: str, options: Sequence[Any]) -> Any:
        return options[0]


def schema_types(schema: dict[str, Any]) -> list[str]:
    """Lowercase JSON types the schema allows ('OBJECT' and ['string', 'null'] both work)."""
    raw = schema.get("type")
    types = [raw] if isinstance(raw, str) else list(raw or [])
    result = [str(t).lower() for t in types if str(t).upper() != "TYPE_UNSPECIFIED"]
    if schema.get("nullable") and "null" not in result:
        result.append("null")
    return result


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and seen < 32:
        ref: str = schema["$ref"]
        target: Any = root
        if ref.startswith("#"):
            for part in ref.lstrip("#").strip("/").split("/"):
                if not part:
                    continue
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, dict) else {}
        else:
            target = {}
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, dict) else siblings
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _merge_all_of(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf", []):
        part = _resolve(part, root)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def generate_instance(schema: dict[str, Any], hints: Hints | None = None) -> Any:
    return _Generator(schema, hints or NoHints()).value(schema, "", -1, "", 0)


class _Generator:
    def __init__(self, root: dict[str, Any], hints: Hints) -> None:
        self.root = root
        self.hints = hints

    def value(self, schema: Any, name: str, index: int, parent: str, depth: int) -> Any:
        if schema is True or schema is None:
            schema = {}
        if schema is False:
            return None
        schema = _resolve(schema, self.root)
        if "allOf" in schema:
            schema = _merge_all_of(schema, self.root)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.hints.choose(name, schema["enum"])
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                return self._branch(schema, key, branches, name, index, parent, depth)
        types = schema_types(schema)
        concrete = [t for t in types if t != "null"]
        if not concrete:
            if types == ["null"]:
                return None
            concrete = [self._infer_type(schema)]
        kind = concrete[0]
        if kind == "object":
            return self._object(schema, name, index, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind in ("number", "integer"):
            return self._number(schema, kind, name, index, parent)
        if kind == "boolean":
            flag = self.hints.flag(name)
            return bool(flag) if flag is not None else False
        return self._string(schema, name, index, parent)

    def _branch(
        self,
        schema: dict[str, Any],
        key: str,
        branches: list[Any],
        name: str,
        index: int,
        parent: str,
        depth: int,
    ) -> Any:
        outer = {k: v for k, v in schema.items() if k != key}
        resolved = [_resolve(b, self.root) for b in branches]
        usable = [b for b in resolved if schema_types(b) != ["null"]]
        if not usable:
            return None
        return self.value({**outer, **usable[0]}, name, index, parent, depth)

    @staticmethod
    def _infer_type(schema: dict[str, Any]) -> str:
        if "properties" in schema or "additionalProperties" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "multipleOf")):
            return "number"
        return "string"

    def _object(self, schema: dict[str, Any], name: str, index: int, depth: int) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        order = [p for p in schema.get("propertyOrdering") or [] if p in properties]
        order += [p for p in properties if p not in order]
        result: dict[str, Any] = {}
        for prop in order:
            if depth >= MAX_DEPTH and prop not in required:
                continue
            result[prop] = self.value(properties[prop], prop, index, name, depth + 1)
        extra = schema.get("additionalProperties")
        wanted = int(schema.get("minProperties") or 0)
        counter = 1
        while len(result) < wanted:
            key = f"{name or 'key'}_{counter}"
            counter += 1
            if key not in result:
                sub = extra if isinstance(extra, dict) else {"type": "string"}
                result[key] = self.value(sub, key, index, name, depth + 1)
        return result

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        low = int(schema.get("minItems") or 0)
        high_raw = schema.get("maxItems")
        high = int(high_raw) if high_raw is not None else None
        prefix: list[Any] = list(schema.get("prefixItems") or [])
        natural = self.hints.item_count(name)
        count = natural if natural is not None else max(DEFAULT_ITEMS, len(prefix))
        if depth >= MAX_DEPTH:
            count = 0
        count = max(low, count if high is None else min(count, high))
        items = schema.get("items")
        if items is False:
            count = min(count, len(prefix))
        result = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else (items if isinstance(items, dict) else {})
            result.append(self.value(sub, name, i, name, depth + 1))
        if schema.get("uniqueItems"):
            result = _make_unique(result)
        return result

    def _number(
        self, schema: dict[str, Any], kind: str, name: str, index: int, parent: str
    ) -> float | int:
        low, high = _bounds(schema)
        hinted = self.hints.number(name, index, parent)
        if hinted is None:
            if low is not None and high is not None:
                hinted = (low + high) / 2
            elif low is not None:
                hinted = low + 1
            elif high is not None:
                hinted = high - 1
            else:
                hinted = 3 if kind == "integer" else 0.5
        elif high is not None and high <= 1.0 + 1e-9 and hinted > 1.0 and hinted <= 100:
            hinted /= 100  # a percentage asked on a 0..1 scale
        elif low is not None and high is not None and high >= 10 and 0 < hinted <= 1:
            hinted = low + hinted * (high - low)  # a fraction asked on a wider scale
        value = _clamp(float(hinted), low, high)
        step = schema.get("multipleOf")
        if isinstance(step, int | float) and step > 0:
            value = _clamp(round(value / step) * step, low, high)
        if kind == "integer":
            whole = round(value)
            if low is not None and whole < low:
                whole = math.ceil(low)
            if high is not None and whole > high:
                whole = math.floor(high)
            return int(whole)
        return round(value, 4) if not (low is not None and value == low) else value

    def _string(self, schema: dict[str, Any], name: str, index: int, parent: str) -> str:
        text = _formatted(schema.get("format"))
        if text is None:
            text = self.hints.text(name, index, parent)
        if text is None:
            text = f"{name or 'value'} {index + 1}" if index >= 0 else (name or "value")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _matches(pattern, text):
            text = _pattern_guess(pattern, text)
        low = int(schema.get("minLength") or 0)
        high_raw = schema.get("maxLength")
        if len(text) < low:
            text = text + "x" * (low - len(text))
        if high_raw is not None and len(text) > int(high_raw):
            text = text[: int(high_raw)]
        return text


def _bounds(schema: dict[str, Any]) -> tuple[float | None, float | None]:
    low = schema.get("minimum")
    high = schema.get("maximum")
    exclusive_low = schema.get("exclusiveMinimum")
    exclusive_high = schema.get("exclusiveMaximum")
    span = 1e-3
    if isinstance(exclusive_low, int | float) and not isinstance(exclusive_low, bool):
        low = exclusive_low + span if low is None else max(low, exclusive_low + span)
    elif exclusive_low is True and low is not None:
        low = low + span
    if isinstance(exclusive_high, int | float) and not isinstance(exclusive_high, bool):
        high = exclusive_high - span if high is None else min(high, exclusive_high - span)
    elif exclusive_high is True and high is not None:
        high = high - span
    return (None if low is None else float(low)), (None if high is None else float(high))


def _clamp(value: float, low: float | None, high: float | None) -> float:
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    return value


def _formatted(fmt: Any) -> str | None:
    return (
        {
            "date-time": "2026-01-01T00:00:00Z",
            "date": "2026-01-01",
            "time": "00:00:00Z",
            "email": "character@example.com",
            "uri": "https://example.com/character",
            "url": "https://example.com/character",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }.get(str(fmt))
        if fmt
        else None
    )


def _matches(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True


def _pattern_guess(pattern: str, text: str) -> str:
    for candidate in (
        text.lower(),
        re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_"),
        "#808080",
        "a",
        "0",
        "A1",
    ):
        if _matches(pattern, candidate):
            return candidate
    return text


def _make_unique(items: list[Any]) -> list[Any]:
    result: list[Any] = []
    for i, item in enumerate(items):
        candidate = item
        if candidate in result and isinstance(candidate, str):
            candidate = f"{item} {i + 1}"
        elif (
            candidate in result
            and isinstance(candidate, int | float)
            and not isinstance(candidate, bool)
        ):
            candidate = item + i
        result.append(candidate)
    return result
