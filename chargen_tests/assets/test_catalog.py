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
from chargen_tests.factories import catalog_resources


def test_catalog_lists_failed_and_pending_characters(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    storage.write_dead_letter(
        "character_analysis",
        "bad",
        DeadLetter(character="bad", stage="character_analysis", reason="blocked"),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, ["bad", "new"])
        result = dg.materialize(
            [character_pipeline, character_catalog],
            selection=[character_catalog.key],
            instance=instance,
            resources=catalog_resources(storage),
        )
    assert result.success
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

    def catalog(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [character_pipeline, character_catalog],
            selection=[character_catalog.key],
            instance=instance,
            resources=catalog_resources(storage),
        )

    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, cast)
        built = catalog(instance)
        metadata = built.asset_materializations_for_node("character_catalog")[0].metadata
        assert metadata["contact_sheets"].value == 2
        with Image.open(folder / "character_catalog_contact_sheet.png") as first:
            assert first.size == (20 * TILE, 20 * (TILE + CAPTION))  # 400 tiles, 20 by 20
        with Image.open(folder / "character_catalog_contact_sheet-002.png") as second:
            assert second.size == (TILE, TILE + CAPTION)  # the 401st

        instance.delete_dynamic_partition(CHARACTERS, cast[-1])
        assert catalog(instance).success
    assert not (folder / "character_catalog_contact_sheet-002.png").exists()
    assert (folder / "character_catalog_contact_sheet.png").is_file()
