from __future__ import annotations

import pytest

from chargen_resources.storage.keys import InvalidKeyError
from chargen_resources.storage.layout import (
    artifact_key,
    artifact_stem,
    dead_letter_key,
    ledger_key,
    staging_key,
)


def test_partitioned_artifact_key() -> None:
    assert artifact_key("chargen", "character_image", "red-knight", "png") == (
        "chargen/character_image/red-knight.png"
    )


def test_unpartitioned_artifact_key() -> None:
    assert artifact_key("chargen", "character_catalog", None, "parquet") == (
        "chargen/character_catalog.parquet"
    )


def test_multi_component_asset_and_prefix_variants() -> None:
    assert artifact_key("chargen/", "group/analysis", "hero", ".json") == (
        "chargen/group/analysis/hero.json"
    )
    assert artifact_key("", "analysis", "hero", "json") == "analysis/hero.json"
    assert artifact_stem("chargen", "analysis", "hero") == "chargen/analysis/hero"
    assert artifact_stem("chargen", "catalog", None) == "chargen/catalog"


@pytest.mark.parametrize("partition", ["a/b", "..", "", "a\\b"])
def test_unsafe_partition_keys_are_rejected(partition: str) -> None:
    with pytest.raises(InvalidKeyError, match="partition key"):
        artifact_key("chargen", "analysis", partition, "json")


def test_unsafe_asset_name_and_prefix_are_rejected() -> None:
    with pytest.raises(InvalidKeyError):
        artifact_key("chargen", "../escape", "hero", "json")
    with pytest.raises(InvalidKeyError):
        artifact_key("/abs", "analysis", "hero", "json")


def test_dead_letter_and_ledger_keys() -> None:
    assert dead_letter_key("chargen", "character_image", "troll") == (
        "chargen/_dead_letters/character_image/troll.json"
    )
    assert ledger_key("chargen", "batch-3f2a") == "chargen/_ledger/batch-3f2a.json"
    with pytest.raises(InvalidKeyError):
        ledger_key("chargen", "a/b")


def test_staging_keys_sort_in_index_order() -> None:
    keys = [staging_key("chargen", "job-1", index, "jsonl") for index in (10, 2, 1)]
    assert keys[1] == "chargen/_staging/job-1/000002.jsonl"
    assert sorted(keys) == [keys[2], keys[1], keys[0]]
    with pytest.raises(ValueError, match="index"):
        staging_key("chargen", "job-1", -1, "jsonl")


def test_folders_and_files_beside_the_results_follow_the_prefix_even_when_empty() -> None:
    from chargen_resources.storage.layout import beside_results, dead_letters_folder

    assert dead_letters_folder("chargen") == "chargen/_dead_letters/"
    assert dead_letters_folder("") == "_dead_letters/"  # the bucket root: no leading '/'
    assert (
        beside_results("team/chargen/", "gallery/index.html") == "team/chargen/gallery/index.html"
    )


def test_takes_sit_beside_the_current_result_numbered_from_one() -> None:
    from chargen_resources.storage.layout import take_key, takes_folder

    assert takes_folder("chargen", "character_image", "ash") == "chargen/character_image/ash/takes/"
    assert take_key("chargen", "character_image", "ash", 3, "png") == (
        "chargen/character_image/ash/takes/03.png"
    )
