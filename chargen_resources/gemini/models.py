"""The models chargen uses unless told otherwise."""

DEFAULT_ANALYSIS_MODEL = "gemini-2.5-flash"
DEFAULT_IMAGE_MODEL = "gemini-3-pro-image-preview"
