"""Named colours shared by the analysis model (pixels -> names) and the image model (names -> pixels)."""

from __future__ import annotations

import re

RGB = tuple[int, int, int]

NAMED_COLOURS: dict[str, RGB] = {
    "black": (0, 0, 0),
    "charcoal": (54, 69, 79),
    "gray": (128, 128, 128),
    "silver": (192, 192, 192),
    "white": (255, 255, 255),
    "ivory": (255, 255, 240),
    "red": (255, 0, 0),
    "crimson": (220, 20, 60),
    "scarlet": (255, 36, 0),
    "maroon": (128, 0, 0),
    "rust": (183, 65, 14),
    "pink": (255, 192, 203),
    "magenta": (255, 0, 255),
    "purple": (128, 0, 128),
    "violet": (143, 0, 255),
    "indigo": (75, 0, 130),
    "lavender": (230, 230, 250),
    "navy": (0, 0, 128),
    "blue": (0, 0, 255),
    "royal blue": (65, 105, 225),
    "sky blue": (135, 206, 235),
    "cyan": (0, 255, 255),
    "teal": (0, 128, 128),
    "turquoise": (64, 224, 208),
    "green": (0, 128, 0),
    "forest green": (34, 139, 34),
    "emerald": (80, 200, 120),
    "lime": (0, 255, 0),
    "olive": (128, 128, 0),
    "yellow": (255, 255, 0),
    "gold": (255, 215, 0),
    "amber": (255, 191, 0),
    "orange": (255, 165, 0),
    "copper": (184, 115, 51),
    "brown": (139, 69, 19),
    "tan": (210, 180, 140),
    "khaki": (240, 230, 140),
    "cream": (255, 253, 208),
    "beige": (245, 245, 220),
}
# Spellings a prompt may use for the same colours.
ALIASES: dict[str, str] = {"grey": "gray", "golden": "gold", "silvery": "silver"}

_NAMES_LONGEST_FIRST = sorted([*NAMED_COLOURS, *ALIASES], key=len, reverse=True)
_NAME_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in _NAMES_LONGEST_FIRST) + r")\b", re.I
)
_HEX_PATTERN = re.compile(r"#([0-9a-fA-F]{6})\b")


def hex_code(rgb: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def nearest_name(rgb: RGB) -> str:
    """Closest named colour by the 'redmean' weighted RGB distance (cheap, perceptually fair)."""
    red, green, blue = rgb

    def distance(candidate: RGB) -> float:
        mean_red = (red + candidate[0]) / 2
        dr, dg, db = red - candidate[0], green - candidate[1], blue - candidate[2]
        return (2 + mean_red / 256) * dr * dr + 4 * dg * dg + (2 + (255 - mean_red) / 256) * db * db

    return min(NAMED_COLOURS, key=lambda name: distance(NAMED_COLOURS[name]))


def colours_in_text(text: str) -> list[RGB]:
    """Colours named in ``text`` (names or #rrggbb), in order of first appearance, no repeats."""
    found: list[tuple[int, RGB]] = []
    for match in _NAME_PATTERN.finditer(text):
        name = match.group(1).lower()
        found.append((match.start(), NAMED_COLOURS[ALIASES.get(name, name)]))
    for match in _HEX_PATTERN.finditer(text):
        value = int(match.group(1), 16)
        found.append((match.start(), ((value >> 16) & 255, (value >> 8) & 255, value & 255)))
    ordered: list[RGB] = []
    for _, rgb in sorted(found, key=lambda item: item[0]):
        if rgb not in ordered:
            ordered.append(rgb)
    return ordered
