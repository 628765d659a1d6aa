"""Emulator-only routes under /emulator/ (no API key): status, clock, shared fault counters.

- ``GET  /emulator/status``  -> settings, clock offset, armed faults
- ``GET  /emulator/billing`` -> ``{"paid", "unique", "batch", "interactive", "repeated"}``
- ``POST /emulator/clock``   ``{"advanceSeconds": 172800}`` or ``{"offsetSeconds": 0}``
- ``POST /emulator/faults``  ``{"failNext": 2, "status": 503, "pathContains": ":generateContent"}``
"""

from __future__ import annotations

import json

from chargen_resources.emulator.clock import rfc3339
from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.http_types import HttpRequest, JsonResponse
from chargen_resources.emulator.wire import ApiError


def status(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        200,
        {
            "settings": ctx.settings.model_dump(),
            "stateDir": str(ctx.state_dir),
            "now": rfc3339(ctx.clock.now()),
            "sharedClockOffsetSeconds": ctx.clock.shared_offset(),
            "faults": json.loads(ctx.failures.describe()),
        },
    )


def billing(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    """Requests the real service would have billed: paid, unique, and any paid twice."""
    return JsonResponse(200, ctx.billing.summary().model_dump())


def uploads(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    """Every upload ever published (name, content sha256, size), deleted ones included."""
    return JsonResponse(200, {"uploads": ctx.files.uploads_ever()})


def _number(body: dict[str, object], key: str) -> float:
    value = body[key]
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ApiError(400, f"'{key}' must be a number of seconds.")
    return float(value)


def clock(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    body = request.json()
    if "advanceSeconds" in body:
        offset = ctx.clock.advance(_number(body, "advanceSeconds"))
    elif "offsetSeconds" in body:
        offset = _number(body, "offsetSeconds")
        ctx.clock.set_offset(offset)
    else:
        raise ApiError(400, 'Send {"advanceSeconds": N} or {"offsetSeconds": N}.')
    return JsonResponse(200, {"sharedClockOffsetSeconds": offset, "now": rfc3339(ctx.clock.now())})


def faults(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    body = request.json()
    fail_next = body.get("failNext", 0)
    status_code = body.get("status", 503)
    path_contains = body.get("pathContains", "")
    if not isinstance(fail_next, int) or fail_next < 0:
        raise ApiError(400, "'failNext' must be a non-negative integer.")
    if status_code not in (429, 500, 503):
        raise ApiError(400, "'status' must be 429, 500 or 503.")
    if not isinstance(path_contains, str):
        raise ApiError(400, "'pathContains' must be a string.")
    ctx.failures.arm_shared(fail_next, status_code, path_contains)
    return JsonResponse(
        200, {"failNext": fail_next, "status": status_code, "pathContains": path_contains}
    )
