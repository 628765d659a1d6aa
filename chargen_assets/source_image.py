"""source_image: each character's reference sketches, validated and normalised."""

from __future__ import annotations

from typing import Any

import dagster as dg

from chargen_assets.partitions import character_asset_spec
from chargen_assets.stage import Stage, StageRun
from chargen_resources.characters.artifacts import SourceImages
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.outcomes import StageOutcome
from chargen_resources.pipeline.source_stage import prepare_sources

# Bump when normalisation changes what `source_image` stores.
CODE_VERSION = "normalise-v1"

spec = character_asset_spec(
    stage_names.SOURCE,
    code_version=CODE_VERSION,
    kinds={"pillow"},
    description=(
        "The reference sketches of one character from the inbox, EXIF-rotated, size-limited and "
        "re-encoded as PNG. Its data version is the hash of that content."
    ),
)


def metadata(source: SourceImages, uri: str) -> dict[str, Any]:
    return {
        "images": len(source.images),
        "source": source.source_name,
        "sizes": ", ".join(f"{i.width}x{i.height}" for i in source.images),
        "has_character_yaml": source.spec is not None,
        "content_hash": source.content_hash[:16],
        "skipped_files": dg.MetadataValue.md(
            "\n".join(f"- {line}" for line in source.skipped_files) or "none"
        ),
        "stored_at": dg.MetadataValue.path(uri),
    }


def compute(run: StageRun) -> StageOutcome[SourceImages]:
    sources = run.prepared_sources
    if sources is None:
        sources = prepare_sources(
            run.keys,
            run.inbox.source(),
            run.storage.store(),
            run.storage.prefix,
            run.config.max_source_side,
        )
    for key, source in sources.succeeded.items():
        for warning in source.skipped_files:
            run.log.warning(f"{key}: skipped {warning}")
    return sources


stage = Stage(
    spec=spec,
    artifact=SourceImages,
    metadata=metadata,
    compute=compute,
    own_version=lambda source: source.content_hash,
)
