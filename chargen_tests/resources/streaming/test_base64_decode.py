"""decode_base64: carried tails, both alphabets, missing padding, whitespace, clear errors."""

from __future__ import annotations

import base64
import os

import pytest

from chargen_resources.streaming import Base64DecodeError, decode_base64

DATA = os.urandom(1000) + b"\xfb\xff\xfe" * 50  # bytes whose encoding uses '+' and '/'


def decode_in_slices(text: str, size: int) -> bytes:
    return b"".join(
        decode_base64(text[index : index + size] for index in range(0, len(text), size))
    )


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 64, 1000, 100_000])
def test_any_slice_size(size: int) -> None:
    assert decode_in_slices(base64.b64encode(DATA).decode(), size) == DATA


def test_url_safe_alphabet_and_bytes_input() -> None:
    encoded = base64.urlsafe_b64encode(DATA)
    assert b"-" in encoded and b"_" in encoded
    assert b"".join(decode_base64([encoded[:333], encoded[333:]])) == DATA


@pytest.mark.parametrize("length", [1, 2, 3, 4, 5])
def test_missing_padding(length: int) -> None:
    raw = DATA[:length]
    unpadded = base64.b64encode(raw).decode().rstrip("=")
    assert decode_in_slices(unpadded, 3) == raw


def test_whitespace_is_ignored() -> None:
    encoded = base64.encodebytes(DATA).decode()  # MIME style: a newline every 76 characters
    assert "\n" in encoded
    assert decode_in_slices(" " + encoded.replace("\n", "\r\n\t"), 50) == DATA


def test_padding_between_independently_encoded_segments() -> None:
    pieces = [DATA[:10], DATA[10:21], DATA[21:]]
    text = "".join(base64.b64encode(piece).decode() for piece in pieces)
    assert decode_in_slices(text, 7) == DATA


def test_empty_input() -> None:
    assert list(decode_base64([])) == []
    assert list(decode_base64(["", b""])) == []


@pytest.mark.parametrize(
    ("chunks", "offset", "message"),
    [
        (["QUJD", "QU*D"], 6, "'*'"),
        (["QUJDQ"], 4, "dangling"),
        (["QUJD", "é"], 4, "non-ASCII"),
        (["Q=JD"], 0, "padding"),
        (["QUJD!"], 4, "'!'"),
    ],
)
def test_invalid_input_fails_clearly(chunks: list[str], offset: int, message: str) -> None:
    with pytest.raises(Base64DecodeError, match=message) as raised:
        list(decode_base64(chunks))
    assert raised.value.offset == offset
