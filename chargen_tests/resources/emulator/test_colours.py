"""Colour names from pixels and from prompt text."""

from __future__ import annotations

from chargen_resources.emulator.colours import colours_in_text, nearest_name


def test_colour_names() -> None:
    assert nearest_name((250, 5, 5)) == "red"
    assert colours_in_text("a Forest Green cloak, #FF0000 trim and grey boots") == [
        (34, 139, 34),
        (255, 0, 0),
        (128, 128, 128),
    ]
