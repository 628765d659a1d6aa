"""What an image prompt asks for beyond colours and archetype: props, render style, build, pose.

Reads the clauses chargen's template writes ("Carries: ...", "Render style: ...", "Silhouette:
...", "Pose: ...") and, for prompts written by hand, known words anywhere in the text.
"""

from __future__ import annotations

import re

# Prop kinds the image model can draw, each with the words that name it (first match wins, so
# longer phrases come before the words inside them).
PROP_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("horn", ("war horn", "hunting horn")),
    ("daggers", ("dagger", "twin blade", "knife", "knives", "blades")),
    ("sword", ("sword", "longsword", "greatsword", "katana", "sabre", "saber", "rapier", "blade")),
    ("scythe", ("scythe", "sickle")),
    ("axe", ("axe", "greataxe", "cleaver", "hatchet")),
    ("spear", ("spear", "lance", "trident", "halberd")),
    ("staff", ("staff", "stick", "rod", "wand", "cane")),
    ("bow", ("bow", "longbow")),
    ("shield", ("shield", "buckler")),
    ("lantern", ("lantern", "lamp", "torch")),
    ("book", ("book", "spellbook", "tome", "grimoire", "scroll")),
    ("orb", ("orb", "crystal")),
    ("crown", ("crown", "tiara", "circlet")),
    ("hat", ("hat",)),
    ("hood", ("hood", "cowl")),
    ("helm", ("helm",)),
    ("horns", ("horns",)),
    ("banner", ("banner", "flag", "standard")),
    ("lute", ("lute", "guitar", "harp", "instrument")),
    ("cape", ("cape", "cloak", "mantle")),
    ("quiver", ("quiver", "arrows")),
    ("rope", ("rope",)),
    ("beads", ("beads", "necklace", "amulet", "pendant")),
    ("pack", ("pack", "satchel", "bag", "pouch")),
    ("cannon", ("cannon", "blaster", "gun")),
    ("visor", ("visor", "goggles")),
)
WEARABLE = frozenset({"crown", "hat", "hood", "helm", "horns", "cape"})
STYLE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pixel", ("pixel", "8-bit", "16-bit", "voxel")),
    ("watercolour", ("watercolour", "watercolor", "gouache", "wash")),
    ("ink", ("ink", "noir", "line art", "line-art", "monochrome", "black and white", "woodcut")),
    ("neon", ("neon", "synthwave", "cyberpunk", "glow")),
    ("sketch", ("pencil", "sketch", "graphite", "charcoal drawing")),
    ("flat", ("cel", "flat", "comic", "vector", "minimalist", "cartoon")),
)


def clause(prompt: str, label: str) -> str | None:
    """The text after 'Label:' up to the sentence's end ('. ' or the end of the prompt)."""
    match = re.search(rf"\b{label}:\s*(.+?)(?:\.\s|\.?$)", prompt, re.IGNORECASE)
    return match.group(1).strip() if match else None


def prop_kind(phrase: str) -> str | None:
    """The drawable kind a prop phrase names ('pair of daggers' -> 'daggers'); None if unknown."""
    for kind, words in PROP_WORDS:
        if any(re.search(rf"\b{re.escape(word)}", phrase, re.IGNORECASE) for word in words):
            return kind
    return None


def props_in(prompt: str) -> list[str]:
    """Prop kinds to draw, in order, no repeats; 'item' stands for a prop with no known shape.

    The 'Carries:' list is the props; headgear and capes may also be named in the traits and
    notes, so those kinds are looked for in the whole prompt too."""
    carried = clause(prompt, "Carries")
    kinds: list[str] = []
    phrases = [p for p in re.split(r",|\band\b", carried or "") if p.strip()]
    for phrase in phrases:
        kinds.append(prop_kind(phrase) or "item")
    notes = clause(prompt, "Art director's notes") or ""
    for kind, words in PROP_WORDS:
        # Without a 'Carries:' list the whole prompt names the props; with one, the notes may
        # add to it, and headgear or a cape may be named anywhere (traits, notes).
        searched = prompt if carried is None or kind in WEARABLE else notes
        if any(re.search(rf"\b{re.escape(word)}s?\b", searched, re.IGNORECASE) for word in words):
            kinds.append(kind)
    unique: list[str] = []
    for kind in kinds:
        if kind not in unique or kind == "item":
            unique.append(kind)
    return unique


def style_in(prompt: str) -> str:
    """The render style family: from 'Render style:' if present, else from the whole prompt."""
    text = clause(prompt, "Render style") or clause(prompt, "Style") or prompt
    for style, words in STYLE_WORDS:
        if any(re.search(rf"\b{re.escape(word)}", text, re.IGNORECASE) for word in words):
            return style
    return "painterly"


def build_in(prompt: str) -> tuple[float, float]:
    """(width, height) factors of the body from the silhouette's words."""
    text = (clause(prompt, "Silhouette") or prompt).lower()
    width = 0.8 if re.search(r"\b(slender|thin|lithe|wiry)\b", text) else 1.0
    width = 1.25 if re.search(r"\b(broad|bulky|stocky|hulking|heavy)\b", text) else width
    height = 1.08 if re.search(r"\btall\b", text) else 0.92 if "short" in text else 1.0
    return width, height
