"""What the analysis model 'knows' about a request, and how it names those facts for a schema.

``Facts`` come from pixels (``analysis_model``) or from the prompt text. ``FactHints`` answers the
schema-instance generator's questions ("a string called color_palette?") by property-name words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from chargen_resources.emulator.colours import RGB, hex_code, nearest_name

# Archetype words a prompt may use, grouped by the silhouette the image model draws for them.
ARCHETYPE_FAMILIES: dict[str, tuple[str, ...]] = {
    "knight": ("knight", "paladin", "samurai", "ronin", "guardian", "templar", "warden"),
    "mage": (
        "mage",
        "wizard",
        "sorcerer",
        "sorceress",
        "witch",
        "warlock",
        "necromancer",
        "druid",
        "oracle",
        "seer",
    ),
    "rogue": ("rogue", "thief", "assassin", "ninja", "spy", "runner"),
    "ranger": ("ranger", "archer", "hunter", "scout"),
    "robot": ("robot", "android", "cyborg", "mech", "automaton"),
    "warrior": ("warrior", "barbarian", "fighter", "pirate", "gladiator", "viking"),
    "cleric": ("cleric", "priest", "priestess", "monk", "bard", "healer", "hermit", "pilgrim"),
}
# What each family is usually drawn carrying (an analysis names two or three of them).
FAMILY_PROPS: dict[str, tuple[str, ...]] = {
    "knight": ("longsword", "kite shield", "tattered banner"),
    "mage": ("carved staff", "spellbook", "glowing orb"),
    "rogue": ("pair of daggers", "hooded cloak", "coil of rope"),
    "ranger": ("longbow", "quiver of arrows", "hunting knife"),
    "robot": ("arm cannon", "sensor visor", "power cell"),
    "warrior": ("greataxe", "round shield", "war horn"),
    "cleric": ("walking staff", "prayer beads", "lantern"),
}
DEFAULT_PROPS = ("travelling pack", "walking staff")
MOOD_FAMILIES: dict[str, tuple[str, ...]] = {
    "dark": (
        "dark",
        "sombre",
        "somber",
        "grim",
        "brooding",
        "gloomy",
        "sinister",
        "menacing",
        "ominous",
        "mysterious",
        "melancholic",
    ),
    "cheerful": ("cheerful", "happy", "bright", "joyful", "playful", "whimsical", "vibrant"),
    "calm": ("calm", "serene", "peaceful", "gentle", "tranquil", "neutral", "balanced"),
    "dramatic": ("dramatic", "intense", "heroic", "epic", "fierce", "bold", "energetic"),
}
MOOD_PHRASES: dict[str, str] = {
    "dark": "dark and sombre",
    "cheerful": "cheerful and vibrant",
    "calm": "calm and serene",
    "dramatic": "dramatic and intense",
}


def _family_words(families: dict[str, tuple[str, ...]]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for all of a table's words (a scan per word was a tenth of a batch line's
    time), listed in the table's order: where two words start at one place, the earlier
    family's wins, as before."""
    family_of = {word: family for family, words in families.items() for word in words}
    alternatives = "|".join(re.escape(word) for word in family_of)
    return re.compile(rf"\b({alternatives})s?\b", re.IGNORECASE), family_of


_ARCHETYPE_WORDS = _family_words(ARCHETYPE_FAMILIES)
_MOOD_WORDS = _family_words(MOOD_FAMILIES)


def _first_family(text: str, words: tuple[re.Pattern[str], dict[str, str]]) -> str | None:
    pattern, family_of = words
    match = pattern.search(text)
    return family_of[match.group(1).lower()] if match else None


def archetype_family(text: str) -> str | None:
    return _first_family(text, _ARCHETYPE_WORDS)


def archetype_word(text: str) -> str | None:
    """The archetype word itself as written (e.g. 'paladin'), first one in the text."""
    match = _ARCHETYPE_WORDS[0].search(text)
    return match.group(1).lower() if match else None


def mood_family(text: str) -> str | None:
    return _first_family(text, _MOOD_WORDS)


class PaletteColour(BaseModel):
    name: str
    hex: str
    rgb: tuple[int, int, int]
    share: float


def palette_colour(rgb: RGB, share: float) -> PaletteColour:
    return PaletteColour(name=nearest_name(rgb), hex=hex_code(rgb), rgb=rgb, share=round(share, 4))


class Facts(BaseModel):
    palette: list[PaletteColour]
    mood: str  # a MOOD_FAMILIES key
    art_style: str
    archetype: str
    orientation: str
    brightness: float  # 0..1
    contrast: float  # 0..1
    saturation: float  # 0..1
    edge_density: float  # 0..1
    width: int = 0
    height: int = 0
    lighting: str = "balanced"
    temperature: str = "neutral"
    image_count: int = 0
    seed: int = 0
    build: str = "upright"  # the figure's proportions in the sketch: slender, broad, ...
    stance: str = "standing, three-quarter view"

    @property
    def family(self) -> str:
        return archetype_family(self.archetype) or self.archetype

    def props(self) -> list[str]:
        found = FAMILY_PROPS.get(self.family, DEFAULT_PROPS)
        return list(found[: 2 + self.seed % 2])

    def silhouette(self) -> str:
        return f"{self.build} {self.family} outline"

    @property
    def mood_phrase(self) -> str:
        return MOOD_PHRASES.get(self.mood, self.mood)

    @property
    def colour_names(self) -> list[str]:
        names: list[str] = []
        for colour in self.palette:
            if colour.name not in names:
                names.append(colour.name)
        return names

    def character_name(self) -> str:
        first = ("Ka", "Bel", "Mor", "Ta", "Ser", "Vyn", "Ald", "Ery", "Gor", "Li")
        second = ("ren", "dric", "wyn", "ra", "thas", "mir", "lia", "dor", "vek", "sa")
        return first[self.seed % 10] + second[(self.seed // 10) % 10]

    def traits(self) -> list[str]:
        names = self.colour_names or ["gray"]
        return [
            f"{names[0]} attire",
            f"{self.mood} expression",
            f"{self.art_style} rendering",
            f"{self.lighting} lighting",
            f"{names[min(1, len(names) - 1)]} accents",
        ]

    def description(self) -> str:
        names = self.colour_names or ["gray"]
        colours = " and ".join(names[:2])
        return (
            f"A {self.mood_phrase} {self.archetype} in {self.art_style} style, "
            f"dressed in {colours}, {self.orientation} framing, {self.lighting} lighting."
        )

    def summary(self) -> dict[str, Any]:
        return {
            "archetype": self.archetype,
            "visual_traits": self.traits(),
            "color_palette": [c.name for c in self.palette],
            "palette_hex": [c.hex for c in self.palette],
            "mood": self.mood_phrase,
            "art_style": self.art_style,
            "orientation": self.orientation,
        }


def name_words(name: str) -> list[str]:
    """'colorPalette' / 'color_palette' / 'Color Palette' -> ['color', 'palette']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w]


def _has(words: Sequence[str], *stems: str) -> bool:
    return any(word.startswith(stem) for word in words for stem in stems)


def _is_colour_context(parent: str) -> bool:
    return bool(parent) and _has(name_words(parent), "palette", "colo", "swatch")


def stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class FactHints:
    """Answers by property name; the generator falls back to generic values on None."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts

    def _colour(self, index: int) -> PaletteColour:
        palette = self.facts.palette or [palette_colour((128, 128, 128), 1.0)]
        return palette[index % len(palette)]

    def item_count(self, name: str) -> int | None:
        words = name_words(name)
        if _has(words, "palette", "colo", "hex", "swatch"):
            return len(self.facts.palette) or 3
        if _has(words, "trait", "feature", "tag", "keyword", "detail"):
            return 4
        if _has(words, "prop", "item", "equipment", "gear", "weapon", "carr", "accessor"):
            return len(self.facts.props())
        return None

    def text(self, name: str, index: int, parent: str = "") -> str | None:
        f, words = self.facts, name_words(name)
        if not words:
            return None
        if _is_colour_context(parent) and _has(words, "name", "label", "value", "descri"):
            return self._colour(max(index, 0)).name
        if _has(words, "hex", "rgb", "code"):
            return self._colour(index).hex
        if _has(words, "palette", "colo", "swatch", "hue", "tint", "shade"):
            if index >= 0:
                return self._colour(index).name
            return ", ".join(f.colour_names)
        if _has(words, "mood", "tone", "atmosphere", "emotion", "feel", "vibe", "expression"):
            return f.mood_phrase if index < 0 else f.mood
        if _has(words, "style", "art", "render", "medium", "technique"):
            return f.art_style
        if _has(words, "archetype", "class", "role", "type", "profession", "job", "kind"):
            return f.archetype
        if _has(words, "orientation", "aspect", "format", "layout", "framing"):
            return f.orientation
        if _has(words, "light"):
            return f.lighting
        if _has(words, "temperature", "warmth"):
            return f.temperature
        if _has(words, "trait", "feature", "tag", "keyword", "detail", "attribute"):
            traits = f.traits()
            return traits[index % len(traits)] if index >= 0 else ", ".join(traits)
        if _has(words, "name", "title") and not _has(words, "file"):
            return f.character_name()
        if _has(words, "descri", "summar", "caption", "prompt", "text", "note", "reason", "explan"):
            return f.description()
        if _has(words, "background", "setting", "scene", "environment"):
            return f"{f.lighting} {f.mood} backdrop"
        if _has(words, "pose", "stance"):
            return f.stance
        if _has(words, "silhouette", "shape", "outline", "build", "proportion"):
            return f.silhouette()
        if _has(words, "prop", "item", "equipment", "gear", "weapon", "carr", "accessor"):
            props = f.props()
            return props[index % len(props)] if index >= 0 else ", ".join(props)
        return None

    def number(self, name: str, index: int, parent: str = "") -> float | None:
        f, words = self.facts, name_words(name)
        if _is_colour_context(parent) and not _has(words, "percent", "share", "fraction"):
            words = [*words, "share"]
        if _has(words, "bright", "luminan", "lightness"):
            return f.brightness
        if _has(words, "contrast"):
            return f.contrast
        if _has(words, "saturat", "vivid", "chroma"):
            return f.saturation
        if _has(words, "edge", "line", "detail", "complex"):
            return f.edge_density
        if _has(words, "share", "fraction", "percent", "weight", "proportion", "ratio", "coverage"):
            share = self._colour(max(index, 0)).share
            return share * 100 if _has(words, "percent") else share
        if _has(words, "confiden", "score", "probab", "certain"):
            return 0.87
        if _has(words, "width"):
            return float(f.width)
        if _has(words, "height"):
            return float(f.height)
        if _has(words, "age"):
            return 20 + f.seed % 40
        if _has(words, "count", "number", "num"):
            return float(len(f.palette))
        return None

    def flag(self, name: str) -> bool | None:
        words = name_words(name)
        if _has(words, "dark"):
            return self.facts.mood == "dark"
        if _has(words, "bright", "cheer", "light"):
            return self.facts.brightness > 0.6
        if _has(words, "colour", "color"):
            return self.facts.saturation > 0.15
        return None

    def choose(self, name: str, options: Sequence[Any]) -> Any:
        """The enum option best supported by the facts, else one picked by a stable hash."""
        f = self.facts
        vocabulary = " ".join(
            [
                f.mood,
                f.mood_phrase,
                *MOOD_FAMILIES.get(f.mood, ()),
                f.art_style,
                f.archetype,
                f.orientation,
                f.lighting,
                f.temperature,
                *f.colour_names,
            ]
        ).lower()
        for option in options:
            if (
                isinstance(option, str)
                and option
                and re.search(rf"\b{re.escape(option.lower())}\b", vocabulary)
            ):
                return option
        for option in options:
            if isinstance(option, str) and any(
                word in vocabulary.split() for word in name_words(option)
            ):
                return option
        return options[stable_int(f"{name}:{f.seed}") % len(options)]
