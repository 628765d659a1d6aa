"""The stages' names, in pipeline order: each is its asset's name and its storage folder's."""

from __future__ import annotations

SOURCE = "source_image"
ANALYSIS = "character_analysis"
PROMPT = "character_prompt"
IMAGE = "character_image"
PIPELINE = (SOURCE, ANALYSIS, PROMPT, IMAGE)
STYLE = "cast_style"  # the cast's style guide: read by the prompts, one for every character
CATALOG = "character_catalog"


def sends_spec(stage: str) -> bool:
    """Whether `stage`'s request is made from character.yaml too: the analysis reads only the
    sketches (the notes are art direction for the image), so editing the file changes nothing
    it sends."""
    return stage != ANALYSIS
