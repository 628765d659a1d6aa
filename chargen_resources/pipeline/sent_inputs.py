"""What a stage's request is made of, of a character's inbox files: a content failure keeps
its hash, so a copy, sync or edit that changes nothing it sends does not send it again."""

from __future__ import annotations

from chargen_resources.inbox.sources import InboxCharacter, InboxError, InboxSource, content_hash
from chargen_resources.pipeline import stage_names


def sends_spec(stage: str) -> bool:
    """Whether `stage`'s request is made from character.yaml too: the analysis reads only the
    sketches (the notes are art direction for the image), so editing the file changes nothing
    it sends."""
    return stage != stage_names.ANALYSIS


def sent_inputs_hash(source: InboxSource, character: InboxCharacter, stage: str) -> str | None:
    """The hash of the files' bytes `stage` sends for `character` now (reads them); None when
    they cannot be read (gone or unreadable: the run says so)."""
    try:
        return content_hash(source, character, spec=sends_spec(stage))
    except (InboxError, OSError):
        return None
