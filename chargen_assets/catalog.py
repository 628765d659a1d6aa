"""character_catalog: every character in one Parquet table, previewed in the UI."""

from typing import TYPE_CHECKING, TypeVar

import dagster as dg
from pydantic import BaseModel

from chargen_assets import stages
from chargen_assets.partitions import CHARACTERS
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import (
    AnalysisRecord,
    DeadLetter,
    GeneratedImage,
    SourceImages,
)
from chargen_resources.characters.contact_sheet import (
    render_contact_sheet,
    sheet_pages,
    store_sheets,
)
from chargen_resources.characters.gallery import GALLERY_PAGE, render_gallery
from chargen_resources.characters.prompt_compiler import CompiledPrompt
from chargen_resources.pipeline.image_stage import stored_thumbnail
from chargen_resources.storage.layout import beside_results

if TYPE_CHECKING:
    import polars as pl

T = TypeVar("T", bound=BaseModel)

# Rebuild after any character changes. Not `eager()`: that waits for every upstream partition to
# exist, and a character that failed never gets an image, which would freeze the catalog exactly
# when it has failures to show.
CATALOG_CONDITION = (
    (dg.AutomationCondition.missing() | dg.AutomationCondition.any_deps_updated())
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
)
PREVIEW_ROWS = 50
CONTACT_SHEET = "character_catalog_contact_sheet.png"


def _dead_letter(storage: ChargenStorage, key: str, kept: set[str]) -> DeadLetter | None:
    """The failure record of the latest stage this character reached that keeps one
    (`kept`: those stages, from one listing of the dead letters)."""
    for stage in reversed(stages.PIPELINE):
        if stage.name in kept:
            record = storage.read_dead_letter(stage.name, key, DeadLetter)
            if record is not None:
                return record
    return None


@dg.asset(
    # Every stage's results for every character, loaded by chargen's IO manager; characters a
    # stage has not finished are simply absent from that stage's dict.
    ins={
        stage.name: dg.AssetIn(stage.key, metadata={"allow_missing_partitions": True})
        for stage in stages.PIPELINE
    },
    group_name="characters",
    kinds={"polars", "parquet"},
    automation_condition=CATALOG_CONDITION,
    description="One row per character: status, archetype, palette, prompt, image, tokens, cost.",
)
def character_catalog(
    context: dg.AssetExecutionContext,
    storage: ChargenStorage,
    source_image: dict[str, SourceImages],
    character_analysis: dict[str, AnalysisRecord],
    character_prompt: dict[str, CompiledPrompt],
    character_image: dict[str, GeneratedImage],
) -> dg.MaterializeResult:
    # The table is polars (some 25 MB resident once imported): loaded here, not by every run
    # worker that loads these definitions to make characters.
    import polars as pl

    from chargen_resources.characters.catalog import CharacterState, build_catalog, cost_by_day

    keys = context.instance.get_dynamic_partitions(CHARACTERS)
    dead_lettered = storage.dead_lettered()
    states = [
        CharacterState(
            character=key,
            source=source_image.get(key),
            analysis=character_analysis.get(key),
            prompt=character_prompt.get(key),
            image=character_image.get(key),
            dead_letter=_dead_letter(storage, key, dead_lettered.get(key, set())),
        )
        for key in keys
    ]
    table = build_catalog(states)
    # The cast on PNG sheets of 400 from the thumbnails kept with each image (no image is read
    # again), with failed and pending characters marked, not left out.
    statuses = dict(table.select("character", "status").iter_rows())
    images = {state.character: state.image for state in states}

    def thumbnail(character: str) -> bytes | None:  # read as its tile is drawn
        image = images[character]
        return stored_thumbnail(storage.store(), storage.prefix, image) if image else None

    marked = {name: value for name, value in statuses.items() if value != "done"}
    sheet_keys = store_sheets(
        storage.store(),
        beside_results(storage.prefix, CONTACT_SHEET),
        (render_contact_sheet(names, thumbnail, marked) for names in sheet_pages(images)),
    )
    # The cast as a page anyone can open, beside the results (README "The gallery").
    gallery_key = beside_results(storage.prefix, GALLERY_PAGE)
    page = render_gallery(states, storage.prefix, storage.store().uri(storage.prefix))
    storage.store().put_bytes(gallery_key, page.encode(), "text/html")
    counts = table.group_by("status").len().to_dicts()
    stored = storage.store_artifact(context.asset_key, None, table)
    return dg.MaterializeResult(
        metadata={
            "characters": table.height,
            "dagster/row_count": table.height,
            **{f"status_{row['status']}": row["len"] for row in counts},
            "estimated_cost_usd": round(float(table["estimated_cost_usd"].sum() or 0.0), 3),
            "qa_failed": table.filter(pl.col("qa_failed").is_not_null()).height,
            "cost_by_day": dg.MetadataValue.md(_markdown(cost_by_day(states))),
            "gallery": dg.MetadataValue.path(storage.store().uri(gallery_key)),
            "contact_sheet": dg.MetadataValue.path(storage.store().uri(sheet_keys[0])),
            "contact_sheets": len(sheet_keys),
            "preview": dg.MetadataValue.md(_markdown(table.head(PREVIEW_ROWS), PREVIEW_COLUMNS)),
            "storage_uri": dg.MetadataValue.path(stored.uri),
            "stored_bytes": stored.size_bytes,
        }
    )


PREVIEW_COLUMNS = (
    "character",
    "status",
    "archetype",
    "palette",
    "width",
    "height",
    "tokens",
    "estimated_cost_usd",
    "qa_failed",
    "reason",
)


def _markdown(table: "pl.DataFrame", columns: tuple[str, ...] | None = None) -> str:
    shown = table.select(list(columns or table.columns))
    header = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns) + "\n"
    body = "\n".join(
        "| " + " | ".join("" if v is None else str(v).replace("|", "/") for v in row) + " |"
        for row in shown.iter_rows()
    )
    return header + body
