"""How Gemini counts tokens, by model: the documented rules chargen estimates with and the
emulator bills by, so offline figures are what Google would bill.

Rules as documented in Google's token and image-understanding guides (recorded 2026-11-30):
- Gemini 2.x models: an image with both sides <= 384 px is 258 tokens; a larger one is cut into
  768x768 tiles of 258 tokens each.
- Gemini 3 models: images are read at `media_resolution` high by default, 1120 tokens each.
- Output images: Gemini 3 Pro Image, 1120 tokens at 1K and 2K, 2000 at 4K; Gemini 2.5 Flash
  Image, 1290 tokens (1K only).
- Text: about four characters a token (an estimate; the service tokenises exactly).
"""

from __future__ import annotations

import math

SMALL_IMAGE_SIDE = 384
TILE_SIDE = 768
TOKENS_PER_TILE = 258
GEMINI_3_INPUT_IMAGE_TOKENS = 1120
GEMINI_3_OUTPUT_IMAGE_TOKENS = {"1K": 1120, "2K": 1120, "4K": 2000}
GEMINI_2_OUTPUT_IMAGE_TOKENS = 1290
CHARS_PER_TOKEN = 4


def _bare(model: str) -> str:
    return model.removeprefix("models/")


def input_image_tokens(model: str, width: int, height: int) -> int:
    """What one input image of this size costs in prompt tokens."""
    if _bare(model).startswith("gemini-3"):
        return GEMINI_3_INPUT_IMAGE_TOKENS
    if width <= SMALL_IMAGE_SIDE and height <= SMALL_IMAGE_SIDE:
        return TOKENS_PER_TILE
    return TOKENS_PER_TILE * math.ceil(width / TILE_SIDE) * math.ceil(height / TILE_SIDE)


def output_image_tokens(model: str, image_size: str | None) -> int:
    """What one generated image costs in output tokens."""
    if _bare(model).startswith("gemini-2"):
        return GEMINI_2_OUTPUT_IMAGE_TOKENS
    return GEMINI_3_OUTPUT_IMAGE_TOKENS.get(image_size or "1K", GEMINI_3_OUTPUT_IMAGE_TOKENS["1K"])


def text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)
