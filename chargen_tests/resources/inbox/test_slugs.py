from __future__ import annotations

import random
import unicodedata

import pytest

from chargen_resources.inbox.slugs import (
    MAX_SLUG_LENGTH,
    SLUG_PATTERN,
    assign_partition_keys,
    name_hash,
    partition_key_for,
    slugify,
)

ODD_NAMES = [
    "Red Knight",
    "red-knight",
    "RED_KNIGHT",
    "Élodie the Pale",
    "Ægir ☠ Sea-Lord",
    "龍",
    "..",
    ".",
    "../../etc/passwd",
    "a/b\\c",
    ".hidden",
    "   ",
    "",
    "--dash--",
    "_under",
    "x" * 300,
    "tab\there\nnewline",
    "comma,pipe|name",
    "emoji 🐉 dragon",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_slugify_always_gives_a_safe_key(name: str) -> None:
    slug = slugify(name)
    assert SLUG_PATTERN.fullmatch(slug), slug
    assert len(slug) <= MAX_SLUG_LENGTH
    assert "/" not in slug and ".." not in slug and "\\" not in slug


@pytest.mark.parametrize("name", ODD_NAMES)
def test_partition_keys_are_always_safe(name: str) -> None:
    key = partition_key_for(name)
    assert SLUG_PATTERN.fullmatch(key), key
    assert len(key) <= MAX_SLUG_LENGTH


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Red Knight", "red-knight"),
        ("Élodie the Pale", "elodie-the-pale"),
        ("Ångström_Wizard", "angstrom_wizard"),
        ("  spaced   out  ", "spaced-out"),
        ("a/b", "a-b"),
        (".hidden", "hidden"),
        ("--dash--", "dash"),
        ("Mr. O'Neil (v2)", "mr-o-neil-v2"),
    ],
)
def test_slugify_folds_unicode_and_punctuation(name: str, expected: str) -> None:
    assert slugify(name) == expected


@pytest.mark.parametrize("name", ["", "..", ".", "龍", "☠☠", "///"])
def test_names_with_nothing_usable_fall_back_to_a_hash(name: str) -> None:
    assert slugify(name) == f"character-{name_hash(name)}"


def test_fallbacks_differ_between_names() -> None:
    assert slugify("龍") != slugify("鳳")


def test_long_names_are_cut_without_a_trailing_dash() -> None:
    slug = slugify("ab-" * 40)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert not slug.endswith("-")


def test_canonical_names_are_their_own_key() -> None:
    assert partition_key_for("red-knight") == "red-knight"
    assert partition_key_for("ghost_07") == "ghost_07"


def test_other_names_get_a_hash_suffix_from_their_own_name() -> None:
    key = partition_key_for("Red Knight")
    assert key == f"red-knight-{name_hash('Red Knight')}"
    assert key != partition_key_for("RED KNIGHT")


def test_loose_file_key_uses_the_stem() -> None:
    key = partition_key_for("hermit.png", base_name="hermit")
    assert key.startswith("hermit-") and "png" not in key


def test_nfc_and_nfd_spellings_give_the_same_key() -> None:
    composed = unicodedata.normalize("NFC", "Élodie")
    decomposed = unicodedata.normalize("NFD", "Élodie")
    assert composed != decomposed
    assert partition_key_for(composed) == partition_key_for(decomposed)


def test_collisions_get_distinct_keys() -> None:
    names = ["Red Knight", "red-knight", "RED KNIGHT", "red_knight", "Red  Knight!", "red.knight"]
    keys = assign_partition_keys(names)
    assert len(set(keys.values())) == len(names)
    assert keys["red-knight"] == "red-knight"
    assert all(SLUG_PATTERN.fullmatch(key) for key in keys.values())


def test_keys_do_not_depend_on_listing_order() -> None:
    names = ["Red Knight", "red-knight", "RED KNIGHT", "Élodie", "elodie", "龍", ".."]
    expected = assign_partition_keys(names)
    for seed in range(5):
        shuffled = names[:]
        random.Random(seed).shuffle(shuffled)
        assert assign_partition_keys(shuffled) == expected


def test_keys_never_change_when_names_are_added() -> None:
    before = assign_partition_keys(["Red Knight", "hermit.png", "Ash Witch"])
    after = assign_partition_keys(
        [
            "Red Knight",
            "hermit.png",
            "Ash Witch",
            "red-knight",
            "RED KNIGHT",
            "Ash  Witch",
            "hermit",
        ]
    )
    for name, key in before.items():
        assert after[name] == key


def test_a_folder_and_a_loose_file_with_the_same_stem_do_not_collide() -> None:
    keys = assign_partition_keys(
        ["hermit", "hermit.png", "hermit.webp"],
        base_name=lambda name: name.rsplit(".", 1)[0] if "." in name else None,
    )
    assert keys["hermit"] == "hermit"
    assert len(set(keys.values())) == 3
    assert all(key.startswith("hermit") for key in keys.values())


def test_duplicate_names_map_once() -> None:
    assert assign_partition_keys(["a", "a"]) == {"a": "a"}


def test_a_hash_clash_with_a_canonical_name_is_resolved_with_a_longer_hash() -> None:
    # A folder literally named like another name's hashed key: the canonical one keeps it.
    hashed = partition_key_for("Red Knight")
    keys = assign_partition_keys(["Red Knight", hashed])
    assert keys[hashed] == hashed
    assert keys["Red Knight"] != hashed
    assert keys["Red Knight"] == f"red-knight-{name_hash('Red Knight', 16)}"
