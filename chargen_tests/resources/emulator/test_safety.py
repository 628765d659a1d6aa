"""The emulator's safety word list."""

from __future__ import annotations

from chargen_resources.emulator.safety import is_blocked


def test_safety_words_are_whole_words() -> None:
    assert is_blocked(["Very GORY"]) and is_blocked(["nsfw art"]) and is_blocked(["dismembered"])
    assert not is_blocked(["Gregory the gorgeous"])
