"""The catalog's index: what makes a character or a sheet count as changed, and when the index
is not trusted at all."""

from chargen_resources.characters.catalog import CharacterState
from chargen_resources.characters.catalog_index import (
    INDEX_FORMAT,
    CatalogIndex,
    catalog_entry,
    decode_index,
    encode_index,
    made_from,
    sheet_made_from,
)
from chargen_tests.factories import generated_image


def test_made_from_names_every_folder_and_changes_with_any_version() -> None:
    listed = {"character_image": {"ash": "v1"}, "character_image dead letters": {}}
    before = made_from("ash", listed)
    assert before == "character_image=v1;character_image dead letters="
    listed["character_image dead letters"]["ash"] = "d1"
    assert made_from("ash", listed) != before
    assert made_from("bram", listed) == "character_image=;character_image dead letters="


def test_a_sheet_changes_with_its_characters_versions_and_statuses() -> None:
    done = catalog_entry(CharacterState("ash", image=generated_image(character="ash")), "v1", "p")
    entries = {"ash": done, "bram": catalog_entry(CharacterState("bram"), "", "p")}
    drawn = sheet_made_from(["ash", "bram"], entries)
    assert sheet_made_from(["ash", "bram"], dict(entries)) == drawn
    assert sheet_made_from(["ash"], entries) != drawn
    entries["ash"] = done.model_copy(update={"made_from": "v2"})
    assert sheet_made_from(["ash", "bram"], entries) != drawn


def test_an_index_is_used_only_with_its_format_and_prefix() -> None:
    entry = catalog_entry(CharacterState("ash"), "", "chargen")
    index = CatalogIndex(prefix="chargen", entries={"ash": entry}, sheets=["s"])
    assert decode_index(encode_index(index), "chargen") == index
    assert decode_index(encode_index(index), "elsewhere") is None
    older = index.model_copy(update={"format": INDEX_FORMAT - 1})
    assert decode_index(encode_index(older), "chargen") is None
    assert decode_index(b"not gzip", "chargen") is None
    assert decode_index(encode_index(index)[:30], "chargen") is None
