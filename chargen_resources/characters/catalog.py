"""The cast at a glance: one row per character, built from what the stages stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    DeadLetter,
    GeneratedImage,
    SourceImages,
)
from chargen_resources.characters.prompt_compiler import CompiledPrompt

if TYPE_CHECKING:
    import polars as pl

# Column types as Python types (polars reads them as String, Int64, Float64, Boolean), so
# that importing this module does not import polars.
SCHEMA: dict[str, type] = {
    "character": str,
    "status": str,
    "failed_stage": str,
    "reason": str,
    "reference_images": int,
    "archetype": str,
    "palette": str,
    "prompt_hash": str,
    "template": str,
    "image_key": str,
    "width": int,
    "height": int,
    "tokens": int,
    "estimated_cost_usd": float,
    "batch_job": str,
    "qa_failed": str,
    "backend": str,
    "locked": bool,
    "takes": int,
    "sent_references": str,
}
COST_BY_DAY_SCHEMA: dict[str, type] = {"day": str, "requests": int, "estimated_cost_usd": float}


@dataclass(frozen=True)
class CharacterState:
    character: str
    source: SourceImages | None = None
    analysis: AnalysisRecord | None = None
    prompt: CompiledPrompt | None = None
    image: GeneratedImage | None = None
    dead_letter: DeadLetter | None = None


def status_of(state: CharacterState) -> str:
    """failed: its latest attempt at some stage failed (dead letters go when a stage succeeds),
    even if an older image exists; locked: an approved take (character.yaml); stale: the
    image predates the current prompt."""
    if state.dead_letter is not None:
        return "failed"
    if state.image is None:
        return "pending"
    if state.prompt is not None and state.prompt.locked:
        return "locked"  # an approved take: kept whatever changed
    if state.prompt is not None and state.image.prompt_hash != state.prompt.prompt_hash:
        return "stale"
    return "done"


def catalog_row(state: CharacterState) -> dict[str, object]:
    analysis, image = state.analysis, state.image
    tokens = sum(record.usage.total for record in (analysis, image) if record is not None)
    costs = [
        r.estimated_cost_usd for r in (analysis, image) if r is not None and r.estimated_cost_usd
    ]
    status = status_of(state)
    failed = state.dead_letter
    return {
        "character": state.character,
        "status": status,
        "failed_stage": failed.stage if failed else None,
        "reason": failed.reason if failed else None,
        "reference_images": len(state.source.images) if state.source else None,
        "archetype": analysis.analysis.archetype if analysis else None,
        "palette": ", ".join(c.hex or c.name for c in analysis.analysis.colour_palette)
        if analysis
        else None,
        "prompt_hash": state.prompt.prompt_hash if state.prompt else None,
        "template": state.prompt.template_version if state.prompt else None,
        "image_key": image.image_key if image else None,
        "width": image.width if image else None,
        "height": image.height if image else None,
        "tokens": tokens,
        "estimated_cost_usd": round(sum(costs), 4),
        "batch_job": image.batch_job if image else None,
        "backend": next(
            (r.backend for r in (image, analysis) if r is not None and r.backend), None
        ),
        "qa_failed": ", ".join(r.check for r in image.qa if not r.passed) or None
        if image
        else None,
        "locked": state.prompt.locked if state.prompt else False,
        "takes": image.take if image else None,
        "sent_references": ", ".join(image.references) if image else None,
    }


def catalog_table(rows: Iterable[dict[str, object]]) -> pl.DataFrame:
    """The catalog: `catalog_row`s in character order."""
    import polars as pl  # some 25 MB resident: only where a table is built

    ordered = sorted(rows, key=lambda row: str(row["character"]))
    return pl.DataFrame(ordered, schema=SCHEMA)


def cost_lines(state: CharacterState) -> list[tuple[str, float]]:
    """(day it arrived, UTC; estimated cost) of each paid result stored for the character."""
    return [
        (f"{record.made_at:%Y-%m-%d}", record.estimated_cost_usd or 0.0)
        for record in (state.analysis, state.image)
        if record is not None and record.made_at is not None
    ]


def cost_by_day(lines: Iterable[tuple[str, float]]) -> pl.DataFrame:
    """What the stored results cost, per day they arrived: analyses and images together."""
    import polars as pl

    rows = [{"day": day, "cost": cost} for day, cost in lines]
    if not rows:
        return pl.DataFrame(schema=COST_BY_DAY_SCHEMA)
    return (
        pl.DataFrame(rows)
        .group_by("day")
        .agg(
            pl.len().cast(pl.Int64).alias("requests"),
            pl.col("cost").sum().round(4).alias("estimated_cost_usd"),
        )
        .sort("day")
    )
