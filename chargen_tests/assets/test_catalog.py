"""The catalog asset reads what the pipeline stored and writes Parquet beside the results."""

from pathlib import Path

import dagster as dg
import polars as pl
from PIL import Image

from chargen_assets.catalog import character_catalog
from chargen_assets.partitions import CHARACTERS
from chargen_assets.pipeline import character_pipeline
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import DeadLetter
from chargen_resources.characters.contact_sheet import CAPTION, SHEET_CHARACTERS, TILE
from chargen_tests.factories import catalog_resources, compiled_prompt, generated_image


def _catalog(instance: dg.DagsterInstance, storage: ChargenStorage) -> dict[str, object]:
    """Materialize the catalog alone; its metadata, values unwrapped."""
    result = dg.materialize(
        [character_pipeline, character_catalog],
        selection=[character_catalog.key],
        instance=instance,
        resources=catalog_resources(storage),
    )
    assert result.success
    metadata = result.asset_materializations_for_node("character_catalog")[0].metadata
    return {name: value.value for name, value in metadata.items()}


def test_catalog_lists_failed_and_pending_characters(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    storage.write_dead_letter(
        "character_analysis",
        "bad",
        DeadLetter(character="bad", stage="character_analysis", reason="blocked"),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, ["bad", "new"])
        _catalog(instance, storage)
    table = storage.read_artifact("character_catalog", None, pl.DataFrame)
    rows = {row["character"]: row for row in table.iter_rows(named=True)}
    assert rows["bad"]["status"] == "failed" and rows["bad"]["reason"] == "blocked"
    assert rows["new"]["status"] == "pending"
    sheet = tmp_path / "chargen" / "character_catalog_contact_sheet.png"
    with Image.open(sheet) as opened:  # both characters have a tile, neither has a picture
        assert opened.format == "PNG" and opened.size[0] > 0
    assert (tmp_path / "chargen" / "gallery" / "index.html").is_file()
    stored = pl.read_parquet(tmp_path / "chargen" / "character_catalog.parquet")
    assert stored.height == 2 and stored["status"].to_list() == ["failed", "pending"]


def test_a_large_cast_gets_a_contact_sheet_per_400_and_no_stale_sheet(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    cast = [f"hero-{index:03d}" for index in range(SHEET_CHARACTERS + 1)]
    folder = tmp_path / "chargen"
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, cast)
        assert _catalog(instance, storage)["contact_sheets"] == 2
        with Image.open(folder / "character_catalog_contact_sheet.png") as first:
            assert first.size == (20 * TILE, 20 * (TILE + CAPTION))  # 400 tiles, 20 by 20
        with Image.open(folder / "character_catalog_contact_sheet-002.png") as second:
            assert second.size == (TILE, TILE + CAPTION)  # the 401st

        instance.delete_dynamic_partition(CHARACTERS, cast[-1])
        assert _catalog(instance, storage)["contact_sheets"] == 1
    assert not (folder / "character_catalog_contact_sheet-002.png").exists()
    assert (folder / "character_catalog_contact_sheet.png").is_file()


def _made(storage: ChargenStorage, character: str, image_prompt_hash: str = "h") -> None:
    """A character with a prompt (hash "h") and an image made from the prompt of hash
    `image_prompt_hash` (another one: the image is stale)."""
    storage.store_artifact(
        "character_prompt", character, compiled_prompt(character=character, prompt_hash="h")
    )
    image = generated_image(character=character, prompt_hash=image_prompt_hash)
    storage.store_artifact("character_image", character, image)


def test_the_next_catalog_reads_only_the_characters_stored_again(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    cast = [f"hero-{index:03d}" for index in range(SHEET_CHARACTERS + 5)]  # two sheets
    for character in cast:
        _made(storage, character)
    folder = tmp_path / "chargen"
    sheets = [folder / "character_catalog_contact_sheet.png"]
    sheets.append(folder / "character_catalog_contact_sheet-002.png")
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, cast)
        first = _catalog(instance, storage)
        assert (first["characters_read"], first["contact_sheets_drawn"]) == (len(cast), 2)
        drawn = [sheet.read_bytes() for sheet in sheets]

        quiet = _catalog(instance, storage)
        assert (quiet["characters_read"], quiet["contact_sheets_drawn"]) == (0, 0)
        assert quiet["status_done"] == len(cast)

        # One character made again from an older prompt (stale), one failing: read again,
        # the second sheet drawn again, the first kept.
        _made(storage, cast[-1], image_prompt_hash="older")
        storage.write_dead_letter(
            "character_image",
            cast[-2],
            DeadLetter(character=cast[-2], stage="character_image", reason="blocked"),
        )
        changed = _catalog(instance, storage)
        assert (changed["characters_read"], changed["contact_sheets_drawn"]) == (2, 1)
        assert (changed["status_stale"], changed["status_failed"]) == (1, 1)
        assert sheets[0].read_bytes() == drawn[0] and sheets[1].read_bytes() != drawn[1]
        table = storage.read_artifact("character_catalog", None, pl.DataFrame)
        rows = {row["character"]: row for row in table.iter_rows(named=True)}
        assert rows[cast[-2]]["reason"] == "blocked" and rows[cast[-1]]["status"] == "stale"
        gallery = (folder / "gallery" / "index.html").read_text()
        assert gallery.index(f'id="{cast[-2]}"') < gallery.index(f'id="{cast[0]}"')  # failed first

        # A sheet deleted by hand is drawn again, and only it.
        sheets[0].unlink()
        redrawn = _catalog(instance, storage)
        assert (redrawn["characters_read"], redrawn["contact_sheets_drawn"]) == (0, 1)
        assert sheets[0].is_file()
        # A sheet left by a run that drew other characters (an overlapping or an older catalog)
        # is drawn again: the sheet itself says what it was drawn from.
        sheets[1].write_bytes(drawn[1])
        assert _catalog(instance, storage)["contact_sheets_drawn"] == 1
        assert sheets[1].read_bytes() != drawn[1]
        # A removed character leaves the table.
        instance.delete_dynamic_partition(CHARACTERS, cast[0])
        after = _catalog(instance, storage)
        assert after["characters_read"] == 0 and after["characters"] == len(cast) - 1


def test_a_damaged_or_foreign_index_means_reading_everything_again(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    for character in ("ash", "bram"):
        _made(storage, character)
    index = tmp_path / "chargen" / "_catalog" / "index.json.gz"
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, ["ash", "bram"])
        assert _catalog(instance, storage)["characters_read"] == 2
        index.write_bytes(index.read_bytes()[:40])  # cut short
        again = _catalog(instance, storage)
        # Both read again; the sheet, which says it shows them as they are, is kept.
        assert (again["characters_read"], again["contact_sheets_drawn"]) == (2, 0)
        assert again["status_done"] == 2
