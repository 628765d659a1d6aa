"""The stages' names, in pipeline order: each is its asset's name and its storage folder's."""

from __future__ import annotations

SOURCE = "source_image"
ANALYSIS = "character_analysis"
PROMPT = "character_prompt"
IMAGE = "character_image"
PIPELINE = (SOURCE, ANALYSIS, PROMPT, IMAGE)
STYLE = "cast_style"  # the cast's style guide: read by the prompts, one for every character
CATALOG = "character_catalog"
