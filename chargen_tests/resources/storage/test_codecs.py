from __future__ import annotations

import io
import json
from typing import Any

import polars as pl
import pytest
from PIL import Image
from pydantic import BaseModel

from chargen_resources.storage.codecs import (
    KNOWN_EXTENSIONS,
    CodecError,
    PngImage,
    decode,
    encode,
    extensions_for,
)


class Palette(BaseModel):
    name: str
    colours: list[str]
    warmth: float = 0.5


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_model_round_trips_as_pretty_sorted_json() -> None:
    model = Palette(name="ember", colours=["#ff0000", "#220000"])
    encoded = encode(model)
    assert (encoded.ext, encoded.content_type) == ("json", "application/json")
    text = encoded.data.decode()
    assert text.index('"colours"') < text.index('"name"') < text.index('"warmth"')
    assert text.startswith("{\n  ") and text.endswith("}\n")
    assert decode(encoded.data, "json", Palette) == model


def test_equal_models_encode_to_equal_bytes() -> None:
    first = Palette(name="a", colours=["x"], warmth=1.0)
    second = Palette(warmth=1.0, colours=["x"], name="a")
    assert encode(first).data == encode(second).data


def test_json_validates_into_requested_type() -> None:
    data = json.dumps({"name": "ice", "colours": "not-a-list"}).encode()
    with pytest.raises(CodecError, match="does not match Palette"):
        decode(data, "json", Palette)
    listed = json.dumps([{"name": "a", "colours": []}]).encode()
    assert decode(listed, "json", list[Palette]) == [Palette(name="a", colours=[])]


def test_plain_json_dict_and_list() -> None:
    value: dict[str, Any] = {"b": [1, 2], "a": {"ü": None}}
    encoded = encode(value)
    assert encoded.ext == "json"
    assert decode(encoded.data, "json") == value
    assert decode(encode([1, "x"]).data, ".json", None) == [1, "x"]


def test_non_json_values_are_refused_clearly() -> None:
    with pytest.raises(CodecError, match="as JSON"):
        encode({"when": object()})
    with pytest.raises(CodecError, match="as JSON"):
        encode({"x": float("nan")})
    with pytest.raises(CodecError, match="Supported: a pydantic model"):
        encode(b"raw bytes")


def test_png_round_trip_keeps_bytes_and_reads_size() -> None:
    data = png_bytes(5, 7)
    image = PngImage(data)
    assert (image.width, image.height) == (5, 7)
    encoded = encode(image)
    assert (encoded.ext, encoded.content_type, encoded.data) == ("png", "image/png", data)
    assert decode(encoded.data, "png", PngImage) == image
    assert "5x7" in repr(image)


def test_png_image_rejects_other_formats() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buffer, format="JPEG")
    with pytest.raises(CodecError, match="PNG signature"):
        PngImage(buffer.getvalue())
    with pytest.raises(CodecError, match="IHDR"):
        PngImage(b"\x89PNG\r\n\x1a\n")


def test_dataframe_round_trips_through_parquet() -> None:
    frame = pl.DataFrame({"character": ["a", "b"], "tokens": [10, 20]})
    encoded = encode(frame)
    assert encoded.ext == "parquet"
    assert encoded.data[:4] == b"PAR1"
    assert decode(encoded.data, "parquet", pl.DataFrame).equals(frame)


def test_decoding_into_the_wrong_type_is_refused() -> None:
    with pytest.raises(CodecError, match="decodes to PngImage"):
        decode(png_bytes(), "png", Palette)
    with pytest.raises(CodecError, match="Unknown stored format"):
        decode(b"x", "gif", None)
    with pytest.raises(CodecError, match="not valid JSON"):
        decode(b"{", "json", None)
    with pytest.raises(CodecError, match="Parquet could not be read"):
        decode(b"not parquet", "parquet", None)


def test_extensions_for_types() -> None:
    assert extensions_for(PngImage) == ("png",)
    assert extensions_for(pl.DataFrame) == ("parquet",)
    assert extensions_for(Palette) == ("json",)
    assert extensions_for(dict[str, int]) == ("json",)
    assert extensions_for(None) == KNOWN_EXTENSIONS == ("json", "png", "parquet")
