"""Validation of blob keys: the one rule both backends share.

A key is relative and '/'-separated, like an S3 object key, but restricted so that it can never
escape a local root or mean different things on different backends.
"""

from __future__ import annotations


class InvalidKeyError(ValueError):
    """A storage key or key part that could escape the storage root or is ambiguous."""


def _key_problem(key: str, *, allow_trailing_slash: bool) -> str | None:
    if not key:
        return "it is empty"
    if "\\" in key:
        return "it contains a backslash; use '/' as the separator"
    if key.startswith("/"):
        return "it starts with '/'; keys are relative to the storage root"
    if "\x00" in key:
        return "it contains a NUL character"
    segments = key.split("/")
    if allow_trailing_slash and segments[-1] == "":
        segments = segments[:-1]
    for segment in segments:
        if segment == "":
            return "it contains an empty segment ('//' or a trailing '/')"
        if segment in (".", ".."):
            return f"it contains a '{segment}' segment"
    return None


def validate_key(key: str) -> str:
    """Return `key` unchanged if it is a safe object key, else raise InvalidKeyError."""
    problem = _key_problem(key, allow_trailing_slash=False)
    if problem is not None:
        raise InvalidKeyError(f"Invalid storage key {key!r}: {problem}.")
    return key


def validate_prefix(prefix: str) -> str:
    """Like validate_key, but '' (everything) and a trailing '/' are allowed."""
    if prefix == "":
        return prefix
    problem = _key_problem(prefix, allow_trailing_slash=True)
    if problem is not None:
        raise InvalidKeyError(f"Invalid storage prefix {prefix!r}: {problem}.")
    return prefix


def validate_segment(value: str, what: str) -> str:
    """A single key segment (a partition key, a file stem): no '/' at all."""
    if "/" in value:
        raise InvalidKeyError(
            f"Invalid {what} {value!r}: it contains '/', which would nest the storage key. "
            "Use a slug such as 'red-knight'."
        )
    problem = _key_problem(value, allow_trailing_slash=False)
    if problem is not None:
        raise InvalidKeyError(f"Invalid {what} {value!r}: {problem}.")
    return value
