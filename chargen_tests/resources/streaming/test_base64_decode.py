"""decode_base64: carried tails, both alphabets, missing padding, whitespace, clear errors."""

from __future__ import annotations

import base64
import os
import random

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


# ---- vectors


def decode(chunks: list[str] | list[bytes] | list[str | bytes]) -> bytes:
    return b"".join(decode_base64(chunks))


def encodings(raw: bytes) -> dict[str, bytes]:
    standard = base64.b64encode(raw)
    urlsafe = base64.urlsafe_b64encode(raw)
    return {
        "standard": standard,
        "standard-unpadded": standard.rstrip(b"="),
        "urlsafe": urlsafe,
        "urlsafe-unpadded": urlsafe.rstrip(b"="),
        "mime-lines": base64.encodebytes(raw),  # LF every 76 characters
        "crlf-and-spaces": standard.replace(b"A", b" A\r\n\t"),
    }


@pytest.mark.parametrize("length", [0, 1, 2, 3, 4, 5, 6, 47, 48, 49, 100])
def test_every_encoding_at_every_chunk_size(length: int) -> None:
    raw = bytes([0xFB, 0xFF, 0xBF, 0x3E, 0x00]) * (length // 5) + random.Random(length).randbytes(
        length % 5
    )
    for name, encoded in encodings(raw).items():
        for size in range(1, len(encoded) + 2):
            pieces = [encoded[i : i + size] for i in range(0, len(encoded), size)]
            assert decode(pieces) == raw, (name, size)
            assert decode([piece.decode() for piece in pieces]) == raw, (name, size)


def test_empty_and_empty_chunks() -> None:
    assert decode([]) == b""
    mixed: list[str | bytes] = ["", b"", ""]  # str and bytes slices may be mixed
    assert decode(mixed) == b""
    assert decode(["", "QU", "", "JD", ""]) == b"ABC"


def test_decoded_slices_are_never_empty_and_come_early() -> None:
    slices = list(decode_base64(["QUJD", "REVG", "", "R0g="]))
    assert slices == [b"ABC", b"DEF", b"GH"]


def test_independently_padded_segments_concatenated() -> None:
    # Fragments encoded one by one carry their padding into the middle of the stream.
    pieces = [b"A", b"BC", b"DEFG", b"", b"H"]
    stream = b"".join(base64.b64encode(piece) for piece in pieces)
    for size in range(1, len(stream) + 1):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        assert decode(chunks) == b"ABCDEFGH", size


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("QUJD*", 4, "'*' is not in the base64 alphabet"),
        ("QU.D", 2, "'.' is not"),
        ("QUJDé", 4, "non-ASCII"),
        ("Q", 0, "single dangling character"),
        ("QUJDQ", 4, "single dangling character"),
        ("QUJDQ=", 4, "single dangling character"),
        ("QUJD=", 4, "padding"),
        ("QUJD==", 4, "padding"),
        ("QQ=A", 0, "padding"),
        ("=QUJD", 0, "padding"),
        ("QUJD\x00", 4, "not in the base64 alphabet"),
    ],
)
def test_invalid_input_fails_clearly_whatever_the_chunking(
    text: str, offset: int, words: str
) -> None:
    for size in (1, 2, 3, len(text)):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        with pytest.raises(Base64DecodeError) as raised:
            decode(chunks)
        assert words in str(raised.value), (size, str(raised.value))
        assert isinstance(raised.value, ValueError)
        if size == len(text):
            assert raised.value.offset == offset


def test_offset_counts_the_whole_stream() -> None:
    with pytest.raises(Base64DecodeError) as raised:
        decode(["QUJD" * 100, "QUJD", "QU!D"])
    assert raised.value.offset == 406
    assert "character 406" in str(raised.value)


def test_large_input_in_odd_slices_round_trips() -> None:
    raw = random.Random(1).randbytes(3_000_001)
    encoded = base64.b64encode(raw).decode()
    pieces = [encoded[i : i + 65_537] for i in range(0, len(encoded), 65_537)]
    assert decode(pieces) == raw
