"""The pixel sizes Gemini's image models answer with, per aspect ratio and image size.

From the image-generation guide's tables: Gemini 3 image models at 1K (2K and 4K scale by 2 and
4); gemini-2.5-flash-image at its own 1K sizes only.
"""

from __future__ import annotations

SIZES_1K: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (848, 1264),
    "3:2": (1264, 848),
    "3:4": (896, 1200),
    "4:3": (1200, 896),
    "4:5": (928, 1152),
    "5:4": (1152, 928),
    "9:16": (768, 1376),
    "16:9": (1376, 768),
    "21:9": (1584, 672),
}
SIZES_1K_GEMINI_2: dict[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
}
SIZE_SCALES: dict[str, int] = {"1K": 1, "2K": 2, "4K": 4}


def is_gemini_2_image_model(model: str) -> bool:
    return model.removeprefix("models/").startswith(("gemini-2", "gemini-1"))


def expected_size(model: str, aspect_ratio: str, image_size: str) -> tuple[int, int] | None:
    """The documented size of an answer, or None for a ratio or size the tables do not have."""
    if aspect_ratio not in SIZES_1K or image_size not in SIZE_SCALES:
        return None
    if is_gemini_2_image_model(model):
        return SIZES_1K_GEMINI_2[aspect_ratio]
    width, height = SIZES_1K[aspect_ratio]
    return width * SIZE_SCALES[image_size], height * SIZE_SCALES[image_size]
