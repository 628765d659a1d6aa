"""Wire conventions: key normalisation, Google error bodies, status codes, base64."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

# HTTP status -> canonical status name, as Google's JSON error bodies spell it.
HTTP_STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

# Canonical status name -> google.rpc.Code number, used where the service sends a Status
# object instead of an HTTP answer (batch output lines, inline batch items, Operation.error).
RPC_CODES: dict[str, int] = {
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "UNAUTHENTICATED": 16,
}


class ApiError(Exception):
    """An answer with Google's error body; raised anywhere below the HTTP layer."""

    def __init__(self, http_status: int, message: str, status: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.status = status or HTTP_STATUS_NAMES.get(http_status, "UNKNOWN")

    def body(self) -> dict[str, Any]:
        return error_body(self.http_status, self.message, self.status)

    def rpc_status(self) -> dict[str, Any]:
        return rpc_status(self.status, self.message)


def error_body(http_status: int, message: str, status: str | None = None) -> dict[str, Any]:
    name = status or HTTP_STATUS_NAMES.get(http_status, "UNKNOWN")
    return {"error": {"code": http_status, "message": message, "status": name}}


def rpc_status(status: str, message: str) -> dict[str, Any]:
    return {"code": RPC_CODES.get(status, 2), "message": message, "status": status}


def snake_to_camel(key: str) -> str:
    if "_" not in key or key.startswith(("_", "$", "@")):
        return key
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# Fields whose value maps user-chosen names to values: keep the names, normalise the values.
_NAME_MAPS = frozenset({"properties", "defs", "$defs", "definitions"})
# Fields holding user data or a foreign schema language: leave untouched.
_OPAQUE = frozenset(
    {
        "metadata",
        "labels",
        "responseJsonSchema",
        "parametersJsonSchema",
        "args",
        "example",
        "default",
        "enum",
        "const",
        "data",
    }
)


def normalise_keys(value: Any) -> Any:
    """Proto-JSON accepts snake_case and camelCase alike: turn every protocol key to camelCase."""
    if isinstance(value, list):
        return [normalise_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = snake_to_camel(raw_key)
        if key in _OPAQUE:
            result[key] = item
        elif key in _NAME_MAPS and isinstance(item, dict):
            result[key] = {name: normalise_keys(sub) for name, sub in item.items()}
        else:
            result[key] = normalise_keys(item)
    return result


_BASE64_JUNK = re.compile(r"\s+")


def decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not (the SDK sends URL-safe)."""
    cleaned = _BASE64_JUNK.sub("", text).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(
            400, f"Invalid value at 'inline_data.data': not valid base64 ({exc})."
        ) from exc


def encode_base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def paginate(
    items: list[Any],
    page_size: str | None,
    token: str | None,
    default_size: int = 10,
    max_size: int = 100,
) -> tuple[list[Any], str | None]:
    """One page and the token of the next (None on the last page)."""
    try:
        size = int(page_size) if page_size not in (None, "") else default_size
    except ValueError:
        raise ApiError(400, f"Invalid pageSize '{page_size}': expected an integer.") from None
    if size < 0:
        raise ApiError(400, f"Invalid pageSize {size}: must not be negative.")
    size = min(size or default_size, max_size)
    offset = 0
    if token:
        try:
            padded = token + "=" * (-len(token) % 4)
            prefix, _, number = base64.urlsafe_b64decode(padded).decode().partition(":")
            offset = int(number)
            if prefix != "offset" or offset < 0:
                raise ValueError(token)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ApiError(
                400, f"Invalid pageToken '{token}': pass a nextPageToken unchanged."
            ) from None
    page = items[offset : offset + size]
    following = offset + size
    return page, (page_token(following) if following < len(items) else None)
