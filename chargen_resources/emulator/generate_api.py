"""generateContent and streamGenerateContent?alt=sse, with the three image delivery modes."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.faults import RequestFaults
from chargen_resources.emulator.http_types import HttpRequest, JsonResponse, SseEvent, SseResponse
from chargen_resources.emulator.inference import (
    AnswerPart,
    ModelAnswer,
    answer,
    faults_of,
    model_kind,
    unknown_model_error,
)
from chargen_resources.emulator.settings import ImageDelivery
from chargen_resources.emulator.wire import ApiError, encode_base64

INJECTED_MESSAGES: dict[int, str] = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}
TEXT_PIECES = 3


def _prepare(
    ctx: EmulatorContext, request: HttpRequest, method: str
) -> tuple[str, dict[str, Any], RequestFaults]:
    version, model = request.route[0], request.route[1].removeprefix("models/")
    if model_kind(model) is None:
        raise unknown_model_error(model, version, method)
    body = request.json(allow_empty=False)
    faults = faults_of(body)
    if faults.slow_seconds:
        time.sleep(faults.slow_seconds)
    if faults.http_status is not None:
        status = faults.http_status
        raise ApiError(status, INJECTED_MESSAGES.get(status, f"Injected HTTP {status}."))
    if faults.line_error:
        raise ApiError(500, INJECTED_MESSAGES[500])
    return model, body, faults


def _charge(ctx: EmulatorContext, model: str, body: dict[str, Any]) -> None:
    ctx.billing.charge(
        [ctx.billing.paid_line("interactive", model, body, ctx.files.content_hash, None)]
    )


def generate(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    model, body, faults = _prepare(ctx, request, "generateContent")
    result = answer(model, body, ctx.files.resolve_for_model, ctx.settings.draft_images)
    _charge(ctx, model, body)
    return JsonResponse(200, result.to_response(), truncate=faults.stream_cut)


def stream(ctx: EmulatorContext, request: HttpRequest) -> SseResponse:
    model, body, faults = _prepare(ctx, request, "streamGenerateContent")
    result = answer(model, body, ctx.files.resolve_for_model, ctx.settings.draft_images)
    _charge(ctx, model, body)
    events = stream_events(result, ctx.settings.image_delivery, ctx.settings.stream_fragments)
    return SseResponse(
        _with_faults(events, faults), json_array=request.query.get("alt", "").lower() != "sse"
    )


def _with_faults(events: Iterator[SseEvent], faults: RequestFaults) -> Iterator[SseEvent]:
    pending = list(events) if faults.stream_cut else None
    if pending is not None:
        # Cut in the middle of the last content event (the final image, or the end of the text).
        yield from pending[:-1]
        yield SseEvent(pending[-1].payload, cut=True)
        return
    for number, event in enumerate(events):
        yield event
        if faults.stream_error and number == 0:
            yield SseEvent(
                {"error": {"code": 500, "message": INJECTED_MESSAGES[500], "status": "INTERNAL"}}
            )
            return


def _split_text(text: str, pieces: int) -> list[str]:
    size = max(1, math.ceil(len(text) / pieces))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _image_pieces(data: bytes, mode: ImageDelivery, fragments: int) -> list[bytes]:
    if mode == "whole" or fragments <= 1:
        return [data]
    size = max(1, math.ceil(len(data) / fragments))
    slices = [data[i : i + size] for i in range(0, len(data), size)]
    if mode == "fragmented":
        return slices
    return [data[: i + size] for i in range(0, len(data), size)]  # cumulative


def stream_events(result: ModelAnswer, mode: ImageDelivery, fragments: int) -> Iterator[SseEvent]:
    """The answer as SSE chunks; finishReason and the final usage ride on the last one."""
    if result.block_reason or not result.parts:
        yield SseEvent(result.to_response())
        return
    part_lists: list[list[dict[str, Any]]] = []
    for part in result.parts:
        if part.image is not None and not part.thought:
            for piece in _image_pieces(part.image, mode, fragments):
                wire = AnswerPart(image=piece, thought_signature=part.thought_signature).to_wire()
                wire["inlineData"]["data"] = encode_base64(piece)
                part_lists.append([wire])
        elif part.text is not None and not part.thought:
            pieces = [{"text": piece} for piece in _split_text(part.text, TEXT_PIECES)]
            if part.thought_signature:
                pieces[0]["thoughtSignature"] = part.thought_signature
            part_lists.extend([[piece] for piece in pieces])
        else:
            part_lists.append([part.to_wire()])
    running = {"promptTokenCount": result.prompt_tokens, "totalTokenCount": result.prompt_tokens}
    for number, parts in enumerate(part_lists):
        last = number == len(part_lists) - 1
        yield SseEvent(
            {
                "candidates": [result.candidate(parts, finish=last)],
                "usageMetadata": result.usage() if last else running,
                "modelVersion": result.model,
                "responseId": result.response_id,
            }
        )


def count_tokens(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    version, model = request.route[0], request.route[1].removeprefix("models/")
    if model_kind(model) is None:
        raise unknown_model_error(model, version, "countTokens")
    body = request.json(allow_empty=False)
    inner = body.get("generateContentRequest") or body
    inner.setdefault("contents", body.get("contents"))
    result = answer(
        "gemini-2.0-flash",
        {"contents": inner.get("contents"), "systemInstruction": inner.get("systemInstruction")},
        ctx.files.resolve_for_model,
    )
    return JsonResponse(200, {"totalTokens": result.prompt_tokens})
