"""One GenerateContentRequest -> one model answer, shared by generateContent, streaming and batches.

The request must already be key-normalised (camelCase). Files referenced by ``fileData`` are
resolved through a callback so this module knows nothing about storage.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from chargen_resources.emulator import image_model
from chargen_resources.emulator.analysis_model import request_facts
from chargen_resources.emulator.facts import FactHints
from chargen_resources.emulator.faults import RequestFaults, request_faults
from chargen_resources.emulator.safety import is_blocked
from chargen_resources.emulator.schema_instance import generate_instance
from chargen_resources.emulator.wire import ApiError, decode_base64, encode_base64
from chargen_resources.gemini import tokens
from chargen_resources.gemini.image_sizes import is_gemini_2_image_model
from chargen_resources.gemini.models import max_reference_images

ModelKind = Literal["image", "analysis"]
IMAGE_MIME_PREFIX = "image/"

# (path of the stored bytes, mime type) for a files/<id> reference; raises ApiError if absent.
FileResolver = Callable[[str], tuple[Path, str]]


def model_kind(model: str) -> ModelKind | None:
    """Which emulated model family answers ``model`` ('models/' prefix optional); None = unknown."""
    name = model.removeprefix("models/")
    if not re.fullmatch(r"gemini-[a-z0-9.\-]+", name):
        return None
    if "image" in name:
        return "image"
    if "flash" in name or "pro" in name:
        return "analysis"
    return None


def unknown_model_error(model: str, version: str, method: str) -> ApiError:
    name = model if model.startswith("models/") else f"models/{model}"
    return ApiError(
        404,
        f"{name} is not found for API version {version}, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods.",
    )


@dataclass
class AnswerPart:
    text: str | None = None
    image: bytes | None = None
    thought: bool = False
    thought_signature: str | None = None

    def to_wire(self) -> dict[str, Any]:
        part: dict[str, Any] = {}
        if self.text is not None:
            part["text"] = self.text
        if self.image is not None:
            part["inlineData"] = {"mimeType": "image/png", "data": encode_base64(self.image)}
        if self.thought:
            part["thought"] = True
        if self.thought_signature:
            part["thoughtSignature"] = self.thought_signature
        return part


@dataclass
class ModelAnswer:
    model: str
    response_id: str
    parts: list[AnswerPart] = field(default_factory=list)
    finish_reason: str | None = "STOP"
    block_reason: str | None = None
    prompt_tokens: int = 0
    prompt_image_tokens: int = 0
    candidate_tokens: int = 0  # text and image output together
    candidate_image_tokens: int = 0
    thought_tokens: int = 0

    def usage(self) -> dict[str, Any]:
        total = self.prompt_tokens + self.candidate_tokens + self.thought_tokens
        usage: dict[str, Any] = {"promptTokenCount": self.prompt_tokens, "totalTokenCount": total}
        if self.candidate_tokens:
            usage["candidatesTokenCount"] = self.candidate_tokens
        if self.thought_tokens:
            usage["thoughtsTokenCount"] = self.thought_tokens
        details = [
            {"modality": "TEXT", "tokenCount": self.prompt_tokens - self.prompt_image_tokens}
        ]
        if self.prompt_image_tokens:
            details.append({"modality": "IMAGE", "tokenCount": self.prompt_image_tokens})
        usage["promptTokensDetails"] = details
        output_details = [
            {"modality": "TEXT", "tokenCount": self.candidate_tokens - self.candidate_image_tokens},
            {"modality": "IMAGE", "tokenCount": self.candidate_image_tokens},
        ]
        if self.candidate_tokens:
            usage["candidatesTokensDetails"] = [d for d in output_details if d["tokenCount"]]
        return usage

    def candidate(self, parts: list[dict[str, Any]], finish: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"index": 0}
        if parts:
            candidate["content"] = {"role": "model", "parts": parts}
        if finish and self.finish_reason:
            candidate["finishReason"] = self.finish_reason
        return candidate

    def to_response(self) -> dict[str, Any]:
        """The whole GenerateContentResponse (images as standard base64)."""
        body: dict[str, Any] = {}
        if self.block_reason:
            body["promptFeedback"] = {
                "blockReason": self.block_reason,
                "safetyRatings": [
                    {
                        "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                        "probability": "HIGH",
                        "blocked": True,
                    }
                ],
            }
        else:
            body["candidates"] = [self.candidate([p.to_wire() for p in self.parts], True)]
        body["usageMetadata"] = self.usage()
        body["modelVersion"] = self.model
        body["responseId"] = self.response_id
        return body


def request_texts(request: dict[str, Any]) -> list[str]:
    """Every text part of the request (contents and systemInstruction)."""
    texts: list[str] = []
    blocks = list(request.get("contents") or [])
    system = request.get("systemInstruction")
    if isinstance(system, dict):
        blocks.append(system)
    for block in blocks:
        if isinstance(block, dict):
            for part in block.get("parts") or []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
    return texts


def request_hash(model: str, request: dict[str, Any]) -> str:
    canonical = json.dumps({"model": model, "request": request}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def faults_of(request: dict[str, Any], extra_texts: tuple[str, ...] = ()) -> RequestFaults:
    return request_faults([*request_texts(request), *extra_texts])


def _file_id(uri: str) -> str:
    match = re.search(r"files/([a-z0-9-]+)", uri)
    if not match:
        raise ApiError(400, f"Invalid fileData.fileUri '{uri}': expected .../files/<id>.")
    return match.group(1)


def _load_image(data: bytes | Path, where: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data) if isinstance(data, bytes) else data)
        image.load()
        return image
    except (UnidentifiedImageError, OSError) as exc:
        raise ApiError(
            400, f"Unable to process input image in {where}: not a readable image."
        ) from exc


def validate_request(request: dict[str, Any]) -> None:
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ApiError(400, "* GenerateContentRequest.contents: contents is not specified")
    for number, block in enumerate(contents):
        parts = block.get("parts") if isinstance(block, dict) else None
        if not isinstance(parts, list) or not parts:
            raise ApiError(
                400, f"* GenerateContentRequest.contents[{number}].parts: contains no parts"
            )
    config = request.get("generationConfig") or {}
    if not isinstance(config, dict):
        raise ApiError(400, "Invalid value at 'generation_config': expected an object.")
    if config.get("responseSchema") is not None and config.get("responseJsonSchema") is not None:
        raise ApiError(400, "responseSchema and responseJsonSchema cannot both be set.")
    if (
        config.get("responseSchema") is not None or config.get("responseJsonSchema") is not None
    ) and config.get("responseMimeType") not in ("application/json", "text/x.enum"):
        raise ApiError(
            400,
            "* GenerateContentRequest.generation_config.response_mime_type: "
            "must be application/json when a response schema is set",
        )


def _gather_inputs(request: dict[str, Any], resolve: FileResolver) -> tuple[list[Image.Image], int]:
    """Input images, and how many text tokens the non-image parts cost."""
    images: list[Image.Image] = []
    text_tokens = 0
    for block_number, block in enumerate(request.get("contents") or []):
        for part_number, part in enumerate(block.get("parts") or []):
            where = f"contents[{block_number}].parts[{part_number}]"
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                text_tokens += math.ceil(len(part["text"]) / 4)
            inline = part.get("inlineData")
            if isinstance(inline, dict):
                data = decode_base64(str(inline.get("data") or ""))
                if str(inline.get("mimeType", "")).startswith(IMAGE_MIME_PREFIX):
                    images.append(_load_image(data, where))
                else:
                    text_tokens += math.ceil(len(data) / 4)
            file_data = part.get("fileData")
            if isinstance(file_data, dict):
                path, mime = resolve(_file_id(str(file_data.get("fileUri") or "")))
                declared = str(file_data.get("mimeType") or mime)
                if declared.startswith(IMAGE_MIME_PREFIX) or mime.startswith(IMAGE_MIME_PREFIX):
                    images.append(_load_image(path, where))
                else:
                    text_tokens += math.ceil(path.stat().st_size / 4)
    system = request.get("systemInstruction")
    if isinstance(system, dict):
        for part in system.get("parts") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                text_tokens += math.ceil(len(part["text"]) / 4)
    return images, text_tokens


def check_image_count(model: str, count: int) -> None:
    """Refuse more input images than the model's documented per-request maximum, as Google does."""
    limit = max_reference_images(model)
    if count > limit:
        raise ApiError(
            400,
            f"Request contains {count} images, but model {model} accepts at most {limit} "
            "images per request.",
        )


def answer(
    model: str, request: dict[str, Any], resolve: FileResolver, default_drafts: int | None = None
) -> ModelAnswer:
    """Run the emulated model. Raises ApiError for requests the service would refuse."""
    name = model.removeprefix("models/")
    kind = model_kind(name)
    if kind is None:
        raise unknown_model_error(name, "v1beta", "generateContent")
    validate_request(request)
    digest = request_hash(name, request)
    faults = faults_of(request)
    texts = request_texts(request)
    config = request.get("generationConfig") or {}
    modalities = [str(m).upper() for m in config.get("responseModalities") or []]
    if kind == "analysis" and "IMAGE" in modalities:
        raise ApiError(
            400,
            f"Model {name} does not support the requested response modalities: "
            "IMAGE. Use an image model such as gemini-3-pro-image-preview.",
        )
    image_config = config.get("imageConfig") or {}
    if kind == "image":
        size = image_model.output_size(
            image_config.get("aspectRatio"), image_config.get("imageSize"), name
        )
    images, text_tokens = _gather_inputs(request, resolve)
    check_image_count(name, len(images))
    result = ModelAnswer(model=name, response_id=digest[:22])
    result.prompt_image_tokens = sum(
        tokens.input_image_tokens(name, image.width, image.height) for image in images
    )
    result.prompt_tokens = text_tokens + result.prompt_image_tokens
    blocked = faults.safety or is_blocked(texts)
    prompt = "\n".join(texts)
    seed = int(digest[:12], 16)
    if kind == "image":
        if blocked:
            result.finish_reason = "IMAGE_SAFETY"
            return result
        # The first reference leads: its figure's outline and colours are what gets drawn.
        reference = image_model.reference_figure(images[0]) if images else None
        spec = image_model.character_spec(prompt, seed, reference.colours if reference else ())
        drafts = faults.drafts if faults.drafts is not None else default_drafts
        if drafts is None:
            drafts = seed % 3 if not name.startswith(("gemini-2", "gemini-1")) else 0
        for step in range(1, drafts + 1):
            result.parts.append(
                AnswerPart(text=f"Sketching composition draft {step}.", thought=True)
            )
            result.parts.append(
                AnswerPart(
                    image=image_model.render_draft(spec, *size, step, reference), thought=True
                )
            )
        result.thought_tokens = 120 * drafts + (40 if drafts else 0)
        image_size = str(image_config.get("imageSize") or "1K")
        gemini_2 = is_gemini_2_image_model(name)
        # Gemini 3 image models sign the first non-thought part and every final image.
        signature = None if gemini_2 else encode_base64(digest[:24].encode())
        if not modalities or "TEXT" in modalities:
            caption = f"Here is your {spec.mood} {spec.archetype} character."
            result.parts.append(AnswerPart(text=caption, thought_signature=signature))
            result.candidate_tokens += math.ceil(len(caption) / 4)
        if not modalities or "IMAGE" in modalities:
            result.parts.append(
                AnswerPart(
                    image=image_model.render_png(spec, *size, reference=reference),
                    thought_signature=signature,
                )
            )
            result.candidate_image_tokens = tokens.output_image_tokens(name, image_size)
            result.candidate_tokens += result.candidate_image_tokens
        return result
    if blocked:
        result.block_reason = "SAFETY"
        result.finish_reason = None
        return result
    facts = request_facts(images, prompt)
    text = _analysis_text(config, facts)
    limit = config.get("maxOutputTokens")
    if isinstance(limit, int) and limit > 0 and math.ceil(len(text) / 4) > limit:
        text, result.finish_reason = text[: limit * 4], "MAX_TOKENS"
    thinking = config.get("thinkingConfig") or {}
    if thinking.get("thinkingBudget") != 0 and not name.startswith(("gemini-1", "gemini-2.0")):
        result.thought_tokens = 64 + seed % 200
        if thinking.get("includeThoughts") is True:
            summary = f"**Reading the request**\n\nI look at: {facts.description()}"
            result.parts.append(AnswerPart(text=summary, thought=True))
    result.parts.append(AnswerPart(text=text))
    result.candidate_tokens = math.ceil(len(text) / 4)
    return result


def _analysis_text(config: dict[str, Any], facts: Any) -> str:
    hints = FactHints(facts)
    schema = config.get("responseJsonSchema")
    if schema is None:
        schema = config.get("responseSchema")
    if isinstance(schema, dict | bool):
        value = generate_instance(schema if isinstance(schema, dict) else {}, hints)
        if config.get("responseMimeType") == "text/x.enum" and isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)
    if config.get("responseMimeType") == "application/json":
        return json.dumps(facts.summary(), ensure_ascii=False)
    return facts.description()
