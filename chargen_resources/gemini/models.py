"""The models chargen uses unless told otherwise, and the per-model facts both chargen and the
emulator enforce (so the emulator refuses exactly what chargen would have to refuse)."""

from __future__ import annotations

DEFAULT_ANALYSIS_MODEL = "gemini-2.5-flash"
DEFAULT_IMAGE_MODEL = "gemini-3-pro-image-preview"

# Input images per request ("Maximum images per prompt"), read 2026-11-30 in Google Cloud's
# "Image understanding" model table (cloud.google.com/vertex-ai/generative-ai/docs/multimodal/
# image-understanding): Gemini 3 Pro Image 14, Gemini 2.5 Flash Image 3, the Gemini 2.5 text
# models 3,000. The "Gemini image generation limitations" page (docs.cloud.google.com/
# gemini-enterprise-agent-platform/models/capabilities/gemini-image-generation-limitations)
# repeats 14 and 3. Keys are model-name prefixes; the longest matching prefix wins.
MAX_REFERENCE_IMAGES_BY_PREFIX: dict[str, int] = {
    "gemini-3-pro-image": 14,
    "gemini-3.1-flash-image": 14,
    "gemini-2.5-flash-image": 3,
    "gemini-2.5": 3000,
    "gemini-2.0": 3000,
    "gemini-3": 3000,
}
# A model the table does not name gets the strictest documented image-model figure: refusing a
# request Google would take is cheaper to find out than paying for one it refuses.
FALLBACK_MAX_REFERENCE_IMAGES = 3


def max_reference_images(model: str) -> int:
    """How many input images one request to ``model`` ('models/' prefix optional) may carry."""
    name = model.removeprefix("models/")
    matches = [prefix for prefix in MAX_REFERENCE_IMAGES_BY_PREFIX if name.startswith(prefix)]
    if not matches:
        return FALLBACK_MAX_REFERENCE_IMAGES
    return MAX_REFERENCE_IMAGES_BY_PREFIX[max(matches, key=len)]
