"""The catalog's index: what makes a character or a sheet count as changed, and when the index
is not trusted at all."""

from pathlib import Path

from chargen_resources.characters.catalog import CharacterState
from chargen_resources.characters.catalog_index import (
    INDEX_FORMAT,
    CatalogIndex,
    catalog_entry,
    decode_index,
    encode_index,
    made_from,
    sheet_made_from,
    still_current,
)
from chargen_resources.storage.blob_store import LocalBlobStore
from chargen_tests.factories import generated_image


def test_made_from_names_every_folder_and_changes_with_any_version() -> None:
    listed = {"character_image": {"ash": "v1"}, "character_image dead letters": {}}
    before = made_from("ash", listed)
    assert before == "character_image=v1;character_image dead letters="
    listed["character_image dead letters"]["ash"] = "d1"
    assert made_from("ash", listed) != before
    assert made_from("bram", listed) == "character_image=;character_image dead letters="


def test_a_sheet_changes_with_its_characters_versions_and_statuses() -> None:
    ash = CharacterState("ash", image=generated_image(character="ash"))
    done = catalog_entry(ash, "v1", "p", thumbnail_key=None)
    entries = {"ash": done, "bram": catalog_entry(CharacterState("bram"), "", "p", None)}
    drawn = sheet_made_from(["ash", "bram"], entries)
    assert sheet_made_from(["ash", "bram"], dict(entries)) == drawn
    assert sheet_made_from(["ash"], entries) != drawn
    entries["ash"] = done.model_copy(update={"made_from": "v2"})
    assert sheet_made_from(["ash", "bram"], entries) != drawn


def test_an_index_is_used_only_with_its_format_and_prefix() -> None:
    entry = catalog_entry(CharacterState("ash"), "", "chargen", None)
    index = CatalogIndex(prefix="chargen", entries={"ash": entry})
    assert decode_index(encode_index(index), "chargen") == index
    assert decode_index(encode_index(index), "elsewhere") is None
    older = index.model_copy(update={"format": "made by other code"})
    assert older.format != INDEX_FORMAT
    assert decode_index(encode_index(older), "chargen") is None
    assert decode_index(b"not gzip", "chargen") is None
    assert decode_index(encode_index(index)[:30], "chargen") is None


def test_entries_still_current_are_those_made_from_what_is_stored_now() -> None:
    known = {
        name: catalog_entry(CharacterState(name), f"{name}-v1", "p", None)
        for name in ("ash", "bram", "gone")
    }
    kept, to_read = still_current(known, {"ash": "ash-v1", "bram": "bram-v2", "new": ""})
    assert list(kept) == ["ash"] and to_read == ["bram", "new"]


def test_the_thumbnail_comes_from_its_key_or_an_older_record(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put_bytes("p/character_image/ash/takes/01.jpg", b"JPEG", "image/jpeg")
    stored = catalog_entry(CharacterState("ash"), "", "p", "p/character_image/ash/takes/01.jpg")
    assert stored.thumbnail(store) == b"JPEG"
    older = CharacterState(
        "bram",
        image=generated_image(
            character="bram", take=None, thumbnail="![b](data:image/jpeg;base64,QUJD)"
        ),
    )
    assert catalog_entry(older, "", "p", None).thumbnail(store) == b"ABC"
    missing = catalog_entry(CharacterState("cleo"), "", "p", "p/character_image/cleo/takes/01.jpg")
    assert missing.thumbnail(store) is None
