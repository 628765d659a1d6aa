"""The inbox of reference sketches: listing, slugs, character.yaml, image checks, sensor plan.

Dagster-free; the sensor and assets in chargen_assets build on it.
"""

from chargen_resources.inbox.character_spec import (
    CharacterSpec,
    CharacterSpecError,
    parse_character_spec,
)
from chargen_resources.inbox.images import NormalisedImage, SourceImageError, normalise_image
from chargen_resources.inbox.sensor_plan import CharacterRunRequest, TickPlan, plan_tick
from chargen_resources.inbox.slugs import assign_partition_keys, slugify
from chargen_resources.inbox.sources import (
    InboxCharacter,
    InboxError,
    InboxFile,
    InboxScan,
    InboxSource,
    LocalInbox,
    S3Inbox,
    SkipKind,
    SkippedEntry,
    content_hash,
)

__all__ = [
    "CharacterRunRequest",
    "CharacterSpec",
    "CharacterSpecError",
    "InboxCharacter",
    "InboxError",
    "InboxFile",
    "InboxScan",
    "InboxSource",
    "LocalInbox",
    "NormalisedImage",
    "S3Inbox",
    "SkipKind",
    "SkippedEntry",
    "SourceImageError",
    "TickPlan",
    "assign_partition_keys",
    "content_hash",
    "normalise_image",
    "parse_character_spec",
    "plan_tick",
    "slugify",
]
