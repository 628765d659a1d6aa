"""Native file formats for stored values; never pickle.

    pydantic model        -> .json     (pretty, keys sorted, so equal models give equal bytes)
    plain dict / list     -> .json
    PngImage              -> .png
    polars DataFrame      -> .parquet

`decode` validates JSON into the requested type (a pydantic model, or any type pydantic can
validate such as `list[Model]`) when one is given.
"""

from __future__ import annotations

import io
import json
import struct
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeGuard, cast, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

if TYPE_CHECKING:
    import polars as pl

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# The IHDR chunk must come first: signature, length (4), type b"IHDR" (4), width, height.
_IHDR_END: Final = len(PNG_SIGNATURE) + 8 + 8

JSON_EXT: Final = "json"
PNG_EXT: Final = "png"
PARQUET_EXT: Final = "parquet"
# The order in which a reader tries formats when it does not know which one was stored.
KNOWN_EXTENSIONS: Final = (JSON_EXT, PNG_EXT, PARQUET_EXT)
CONTENT_TYPES: Final = {
    JSON_EXT: "application/json",
    PNG_EXT: "image/png",
    PARQUET_EXT: "application/vnd.apache.parquet",
}


def _polars() -> Any:
    """polars, imported when a table is first stored or read: it is some 25 MB resident, and a
    run that only makes characters never needs it."""
    import polars

    return polars


def is_table(value: object) -> TypeGuard[pl.DataFrame]:
    """A polars DataFrame (without importing polars: no table exists before it is loaded)."""
    polars = sys.modules.get("polars")
    return polars is not None and isinstance(value, polars.DataFrame)


def is_table_type(cls: type) -> bool:
    polars = sys.modules.get("polars")
    return polars is not None and issubclass(cls, polars.DataFrame)


class CodecError(ValueError):
    """A value that cannot be encoded, or bytes that cannot be decoded as asked."""


@dataclass(frozen=True, slots=True)
class PngImage:
    """PNG file bytes, checked to start with a PNG signature and an IHDR header."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            raise CodecError(f"PngImage needs bytes, got {type(self.data).__name__}.")
        if not self.data.startswith(PNG_SIGNATURE):
            raise CodecError(
                f"Not a PNG: the data ({len(self.data)} bytes) does not start with the PNG "
                "signature. Convert the image to PNG (for example with Pillow) first."
            )
        if len(self.data) < _IHDR_END or self.data[12:16] != b"IHDR":
            raise CodecError("Not a PNG: the data is too short or lacks the IHDR header.")

    @property
    def width(self) -> int:
        return int(struct.unpack(">I", self.data[16:20])[0])

    @property
    def height(self) -> int:
        return int(struct.unpack(">I", self.data[20:24])[0])

    def __repr__(self) -> str:  # the bytes themselves are useless in logs
        return f"PngImage({self.width}x{self.height}, {len(self.data)} bytes)"


@dataclass(frozen=True, slots=True)
class Encoded:
    """A value turned into file bytes, with the extension and MIME type to store it under."""

    data: bytes
    ext: str
    content_type: str


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def _encoded(data: bytes, ext: str) -> Encoded:
    return Encoded(data=data, ext=ext, content_type=CONTENT_TYPES[ext])


def encode(value: object) -> Encoded:
    """Turn a supported value into bytes in its native format."""
    if isinstance(value, PngImage):
        return _encoded(value.data, PNG_EXT)
    if isinstance(value, BaseModel):
        return _encoded(_json_bytes(value.model_dump(mode="json")), JSON_EXT)
    if is_table(value):
        buffer = io.BytesIO()
        value.write_parquet(buffer)
        return _encoded(buffer.getvalue(), PARQUET_EXT)
    if isinstance(value, dict | list):
        try:
            return _encoded(_json_bytes(value), JSON_EXT)
        except (TypeError, ValueError) as error:
            raise CodecError(
                f"Cannot store this {type(value).__name__} as JSON: {error}. Use only JSON "
                "types (str, int, float, bool, None, dict, list) or a pydantic model."
            ) from error
    raise CodecError(
        f"Cannot store a value of type {type(value).__module__}.{type(value).__qualname__}. "
        "Supported: a pydantic model, a JSON dict/list, PngImage, or a polars DataFrame."
    )


def _wants_any(target_type: object) -> bool:
    return target_type is None or target_type is Any or target_type is object


def _plain_class(target_type: object) -> type | None:
    """`target_type` if it is an ordinary class (not `list[int]` and the like), else None."""
    if get_origin(target_type) is None and isinstance(target_type, type):
        return target_type
    return None


def extensions_for(target_type: object) -> tuple[str, ...]:
    """The formats a value of `target_type` can be stored in, in the order to try them."""
    cls = _plain_class(target_type)
    if cls is None:
        origin = get_origin(target_type)
        return (JSON_EXT,) if origin in (dict, list) else KNOWN_EXTENSIONS
    if issubclass(cls, PngImage):
        return (PNG_EXT,)
    if is_table_type(cls):
        return (PARQUET_EXT,)
    if issubclass(cls, BaseModel | dict | list):
        return (JSON_EXT,)
    return KNOWN_EXTENSIONS


def _decode_json(data: bytes, target_type: object) -> Any:
    if _wants_any(target_type):
        try:
            return json.loads(data)
        except json.JSONDecodeError as error:
            raise CodecError(f"Stored JSON is not valid JSON: {error}.") from error
    try:
        cls = _plain_class(target_type)
        if cls is not None and issubclass(cls, BaseModel):
            return cls.model_validate_json(data)
        return TypeAdapter[Any](cast(Any, target_type)).validate_json(data)
    except ValidationError as error:
        raise CodecError(
            f"Stored JSON does not match {getattr(target_type, '__name__', target_type)}: {error}"
        ) from error


def _check_target(ext: str, produced: type, target_type: object) -> None:
    if _wants_any(target_type):
        return
    cls = _plain_class(target_type)
    if cls is not None and issubclass(produced, cls):
        return
    raise CodecError(
        f"A .{ext} file decodes to {produced.__name__}, but {target_type!r} was requested."
    )


def decode(data: bytes, ext: str, target_type: object = None) -> Any:
    """Turn stored bytes back into a value; `ext` says the format, `target_type` what we want."""
    ext = ext.removeprefix(".")
    if ext == JSON_EXT:
        return _decode_json(data, target_type)
    if ext == PNG_EXT:
        _check_target(ext, PngImage, target_type)
        return PngImage(data)
    if ext == PARQUET_EXT:
        polars = _polars()
        _check_target(ext, polars.DataFrame, target_type)
        try:
            table: pl.DataFrame = polars.read_parquet(io.BytesIO(data))
            return table
        except Exception as error:  # polars raises several unrelated types for bad files
            raise CodecError(f"Stored Parquet could not be read: {error}") from error
    raise CodecError(
        f"Unknown stored format '.{ext}'. Known formats: {', '.join(KNOWN_EXTENSIONS)}."
    )
