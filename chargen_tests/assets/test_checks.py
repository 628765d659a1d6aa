from pathlib import Path

import dagster as dg

from chargen_assets.catalog import character_catalog
from chargen_assets.checks import images_have_dimensions, no_failed_characters
from chargen_assets.partitions import CHARACTERS
from chargen_assets.pipeline import character_pipeline
from chargen_assets.storage import ChargenStorage
from chargen_resources.characters.artifacts import DeadLetter
from chargen_tests.factories import catalog_resources, generated_image


def _catalog_checks(
    storage: ChargenStorage, characters: list[str]
) -> dict[str, dg.AssetCheckEvaluation]:
    """Build the catalog over what `storage` holds and run its checks."""
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(CHARACTERS, characters)
        result = dg.materialize(
            [character_pipeline, character_catalog, no_failed_characters, images_have_dimensions],
            selection=dg.AssetSelection.assets(character_catalog),
            instance=instance,
            resources=catalog_resources(storage),
        )
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_a_failed_character_turns_the_catalog_check_into_a_warning(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    storage.write_dead_letter(
        "character_image",
        "ash",
        DeadLetter(character="ash", stage="character_image", reason="blocked"),
    )
    evaluations = _catalog_checks(storage, ["ash"])
    failed = evaluations["no_failed_characters"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.WARN
    assert "blocked" in str(failed.metadata["reasons"].value)
    assert evaluations["images_have_dimensions"].passed  # no finished image to doubt


def test_an_image_without_dimensions_fails_the_dimensions_check(tmp_path: Path) -> None:
    storage = ChargenStorage(local_root=str(tmp_path))
    image = generated_image(character="ash", width=0, height=0)
    storage.store_artifact("character_image", "ash", image)
    (tmp_path / image.image_key).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / image.image_key).write_bytes(b"not really a png")
    evaluations = _catalog_checks(storage, ["ash"])
    dimensions = evaluations["images_have_dimensions"]
    assert not dimensions.passed and dimensions.metadata["without_dimensions"].value == 1
