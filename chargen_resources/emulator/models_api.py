"""models.get and models.list for the emulated model families."""

from __future__ import annotations

from typing import Any

from chargen_resources.emulator.context import EmulatorContext
from chargen_resources.emulator.http_types import HttpRequest, JsonResponse
from chargen_resources.emulator.inference import model_kind, unknown_model_error
from chargen_resources.emulator.wire import paginate

CATALOGUE = (
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-3-flash-preview",
    "gemini-3-pro-preview",
    "gemini-2.5-flash-image",
    "gemini-3-pro-image-preview",
)


def describe(model: str) -> dict[str, Any]:
    image = model_kind(model) == "image"
    return {
        "name": f"models/{model}",
        "baseModelId": model,
        "version": "001",
        "displayName": f"{model} (chargen emulator)",
        "description": "Emulated by chargen-emulator: deterministic, offline.",
        "inputTokenLimit": 65536 if image else 1048576,
        "outputTokenLimit": 32768 if image else 65536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "batchGenerateContent"],
    }


def get_model(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    model = request.route[1].removeprefix("models/")
    if model_kind(model) is None:
        raise unknown_model_error(model, request.route[0], "get")
    return JsonResponse(200, describe(model))


def list_models(ctx: EmulatorContext, request: HttpRequest) -> JsonResponse:
    page, token = paginate(
        [describe(m) for m in CATALOGUE],
        request.query.get("pageSize"),
        request.query.get("pageToken"),
        default_size=50,
        max_size=1000,
    )
    body: dict[str, Any] = {"models": page}
    if token:
        body["nextPageToken"] = token
    return JsonResponse(200, body)
