"""What the emulator's models read from a prompt's words: the first archetype and mood named."""

from __future__ import annotations

import pytest

from chargen_resources.emulator.facts import archetype_family, archetype_word, mood_family


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("a weary paladin and her mage companion", "knight"),  # the first named wins
        ("A MAGE beside a paladin", "mage"),  # any case
        ("two rangers and a thief", "ranger"),  # a plural
        ("a knightly bearing", None),  # part of a longer word is not the word
        ("", None),
    ],
)
def test_the_first_archetype_named_decides_the_silhouette(text: str, family: str | None) -> None:
    assert archetype_family(text) == family


def test_the_archetype_word_is_given_as_written_in_lower_case() -> None:
    assert archetype_word("An old Necromancer, a seer") == "necromancer"
    assert archetype_word("nobody in particular") is None


def test_the_first_mood_named_decides_the_mood() -> None:
    assert mood_family("bright but ominous") == "cheerful"
    assert mood_family("ominous yet bright") == "dark"
    assert mood_family("a plain portrait") is None
