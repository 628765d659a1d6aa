"""character_catalog: every character in one Parquet table, previewed in the UI.

It reads the stages' results through chargen's storage rather than IO-manager inputs: one listing
of each stage's folder says which characters changed since the last catalog, and only theirs are
read again (`chargen_resources/characters/catalog_index.py`).
"""

from collections.abc import Generator, Iterator, Mapping
from contextlib import closing
from typing import TYPE_CHECKING, Any

import dagster as dg

from chargen_assets import (
    character_analysis,
    character_image,
    character_prompt,
    source_image,
    stages,
)
from chargen_assets.partitions import CHARACTERS
from chargen_assets.stage import Stage
from chargen_assets.stopping import stops_plainly
from chargen_assets.storage import ArtifactNotFoundError, ChargenStorage
from chargen_resources.characters.artifacts import DeadLetter
from chargen_resources.characters.catalog import CharacterState
from chargen_resources.characters.catalog_index import (
    CatalogEntry,
    CatalogIndex,
    catalog_entry,
    decode_index,
    encode_index,
    made_from,
    sheet_made_from,
    still_current,
)
from chargen_resources.characters.contact_sheet import (
    SHEET_CHARACTERS,
    in_pages,
    render_contact_sheet,
    sheet_name,
    store_sheets,
    stored_drawn_from,
)
from chargen_resources.characters.gallery import GALLERY_PAGE, render_gallery
from chargen_resources.gc_pause import cycle_collection_paused
from chargen_resources.pipeline import stage_names
from chargen_resources.pipeline.image_stage import thumbnail_key
from chargen_resources.storage.blob_store import BlobNotFoundError
from chargen_resources.storage.layout import beside_results, catalog_index_key
from chargen_resources.streaming.ahead import worked_ahead

if TYPE_CHECKING:
    import polars as pl

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


def _failures(stage: str) -> str:
    """The name `_listed` gives a stage's folder of failure records."""
    return f"{stage} dead letters"


def _listed(storage: ChargenStorage) -> dict[str, dict[str, str]]:
    """Per folder the catalog reads (each stage's results, each stage's failure records):
    character -> the version of its object there."""
    listed = {
        stage.name: storage.stored_versions(stage.name, stage.artifact) for stage in stages.PIPELINE
    }
    for stage in stages.PIPELINE:
        listed[_failures(stage.name)] = storage.dead_letter_versions(stage.name)
    return listed


def _dead_letter(
    storage: ChargenStorage, key: str, listed: Mapping[str, dict[str, str]]
) -> DeadLetter | None:
    """The failure record of the latest stage this character reached that keeps one."""
    for stage in reversed(stages.PIPELINE):
        if key in listed[_failures(stage.name)]:
            record = storage.read_dead_letter(stage.name, key, DeadLetter)
            if record is not None:
                return record
    return None


def _read_state(
    storage: ChargenStorage, key: str, listed: Mapping[str, dict[str, str]]
) -> CharacterState:
    """Everything stored about one character: the records its stages' listings show."""

    def record(stage: Stage[Any]) -> Any:
        if key not in listed[stage.name]:
            return None
        try:
            return storage.read_artifact(stage.name, key, stage.artifact)
        except ArtifactNotFoundError:  # deleted since the listing: read as absent
            return None

    return CharacterState(
        character=key,
        source=record(source_image.stage),
        analysis=record(character_analysis.stage),
        prompt=record(character_prompt.stage),
        image=record(character_image.stage),
        dead_letter=_dead_letter(storage, key, listed),
    )


def _read_states(
    storage: ChargenStorage, characters: list[str], listed: Mapping[str, dict[str, str]]
) -> Generator[CharacterState, None, None]:
    """Each character's state, in order, read a sheet's worth of characters ahead by as many
    threads as the store serves reads at once (S3's round trips wait together)."""
    return worked_ahead(
        lambda key: _read_state(storage, key, listed),
        characters,
        threads=storage.store().parallel_reads,
        depth=SHEET_CHARACTERS,
        name="catalog-read",
    )


def _entries(
    storage: ChargenStorage,
    now: Mapping[str, str],
    kept: Mapping[str, CatalogEntry],
    listed: Mapping[str, dict[str, str]],
) -> Iterator[CatalogEntry]:
    """Every character's entry in name order (`now`: character -> what is stored about it):
    the last catalog's where it still holds (`kept`), else made from the records read now."""
    prefix = storage.prefix
    names = sorted(now)
    with closing(_read_states(storage, [key for key in names if key not in kept], listed)) as read:
        for name in names:
            if name in kept:
                yield kept[name]
                continue
            state = next(read)
            small = thumbnail_key(prefix, state.image) if state.image is not None else None
            yield catalog_entry(state, now[name], prefix, small)


def _previous(storage: ChargenStorage) -> CatalogIndex | None:
    try:
        data = storage.store().get_bytes(catalog_index_key(storage.prefix))
    except BlobNotFoundError:
        return None
    return decode_index(data, storage.prefix)


@dg.asset(
    # What it reads, for the graph and for automation; read through `storage`, see above.
    deps=[stage.key for stage in stages.PIPELINE],
    group_name="characters",
    kinds={"polars", "parquet"},
    automation_condition=CATALOG_CONDITION,
    description="One row per character: status, archetype, palette, prompt, image, tokens, cost.",
)
@stops_plainly(stage_names.CATALOG)
@cycle_collection_paused()  # a catalog of 10,000 spent 2 to 4 s in the collector
def character_catalog(
    context: dg.AssetExecutionContext, storage: ChargenStorage
) -> dg.MaterializeResult:
    # The table is polars (some 25 MB resident once imported): loaded here, not by every run
    # worker that loads these definitions to make characters.
    import polars as pl

    from chargen_resources.characters.catalog import catalog_table, cost_by_day

    store, prefix = storage.store(), storage.prefix
    listed = _listed(storage)
    previous = _previous(storage)
    now = {
        key: made_from(key, listed) for key in context.instance.get_dynamic_partitions(CHARACTERS)
    }
    kept, changed = still_current(previous.entries if previous is not None else {}, now)

    # The cast on PNG sheets of 400 from the thumbnails kept with each image (no image is read
    # again), failed and pending characters marked, not left out. Each sheet is drawn as its
    # characters' entries come, while the next sheet's are read. A sheet that says it was
    # drawn from what its characters are now is kept.
    first_sheet = beside_results(prefix, CONTACT_SHEET)
    entries: dict[str, CatalogEntry] = {}
    drawn = 0

    def thumbnail(character: str) -> bytes | None:  # read a few rows ahead of its tile
        return entries[character].thumbnail(store)

    def sheets() -> Iterator[bytes | None]:
        nonlocal drawn
        for number, page in enumerate(in_pages(_entries(storage, now, kept, listed)), start=1):
            entries.update((entry.character, entry) for entry in page)
            names = [entry.character for entry in page]
            drawn_from = sheet_made_from(names, entries)
            if stored_drawn_from(store, sheet_name(first_sheet, number)) == drawn_from:
                yield None
                continue
            marked = {entry.character: entry.status for entry in page if entry.status != "done"}
            yield render_contact_sheet(names, thumbnail, marked, drawn_from, store.parallel_reads)
            drawn += 1

    sheet_keys = store_sheets(store, first_sheet, sheets())
    # The cast as a page anyone can open, beside the results (README "The gallery").
    gallery_key = beside_results(prefix, GALLERY_PAGE)
    page = render_gallery((entry.gallery for entry in entries.values()), store.uri(prefix))
    store.put_bytes(gallery_key, page.encode(), "text/html")
    table = catalog_table(entry.row for entry in entries.values())
    counts = table.group_by("status").len().to_dicts()
    stored = storage.store_artifact(context.asset_key, None, table)
    index = CatalogIndex(prefix=prefix, entries=entries)
    store.put_bytes(catalog_index_key(prefix), encode_index(index), "application/gzip")
    costs = cost_by_day(line for entry in entries.values() for line in entry.costs)
    return dg.MaterializeResult(
        metadata={
            "characters": table.height,
            "dagster/row_count": table.height,
            **{f"status_{row['status']}": row["len"] for row in counts},
            "estimated_cost_usd": round(float(table["estimated_cost_usd"].sum() or 0.0), 3),
            "qa_failed": table.filter(pl.col("qa_failed").is_not_null()).height,
            "cost_by_day": dg.MetadataValue.md(_markdown(costs)),
            "gallery": dg.MetadataValue.path(store.uri(gallery_key)),
            "contact_sheet": dg.MetadataValue.path(store.uri(sheet_keys[0])),
            "contact_sheets": len(sheet_keys),
            # What this catalog had to read again: the rest was as the last one left it.
            "characters_read": len(changed),
            "contact_sheets_drawn": drawn,
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
