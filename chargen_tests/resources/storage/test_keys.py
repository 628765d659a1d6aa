from __future__ import annotations

import pytest

from chargen_resources.storage.keys import (
    InvalidKeyError,
    validate_key,
    validate_prefix,
    validate_segment,
)


@pytest.mark.parametrize(
    "key", ["a.json", "chargen/hero/red-knight.png", "a b/ü.json", "x/.hidden"]
)
def test_good_keys_pass_unchanged(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "starts with '/'"),
        ("a/../../b", "'..' segment"),
        ("a\\b", "backslash"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("./a", "'.' segment"),
        ("a\x00b", "NUL"),
    ],
)
def test_bad_keys_say_why(key: str, reason: str) -> None:
    with pytest.raises(InvalidKeyError, match=reason):
        validate_key(key)


def test_prefix_may_be_empty_or_end_with_slash() -> None:
    assert validate_prefix("") == ""
    assert validate_prefix("chargen/") == "chargen/"
    assert validate_prefix("chargen/he") == "chargen/he"
    with pytest.raises(InvalidKeyError):
        validate_prefix("chargen//")
    with pytest.raises(InvalidKeyError):
        validate_prefix("/chargen/")


def test_segment_forbids_slash_with_a_hint() -> None:
    assert validate_segment("red-knight", "partition key") == "red-knight"
    with pytest.raises(InvalidKeyError, match=r"partition key 'a/b'.*slug"):
        validate_segment("a/b", "partition key")
    with pytest.raises(InvalidKeyError, match=r"'\.\.' segment"):
        validate_segment("..", "partition key")
