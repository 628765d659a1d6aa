from pathlib import Path

import dagster as dg

from chargen_assets.catalog import character_catalog
from chargen_assets.checks import images_have_dimensions, no_failed_characters
from chargen_assets.partitions import CHARACTERS
from chargen_assets.storage import ChargenIOManager, ChargenStorage
from chargen_resources.characters.artifacts import DeadLetter


def test_a_failed_character_turns_the_catalog_check_into_a_warning(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    storage.write_dead_letter(
        "character_image",
        "ash",
        DeadLetter(character="ash", stage="character_image", reason="blocked"),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, ["ash"])
        result = dg.materialize(
            [character_catalog, no_failed_characters, images_have_dimensions],
            instance=instance,
            resources={"storage": storage, "io_manager": ChargenIOManager(storage=storage)},
        )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    failed = evaluations["no_failed_characters"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.WARN
    assert "blocked" in str(failed.metadata["reasons"].value)
    assert evaluations["images_have_dimensions"].passed
