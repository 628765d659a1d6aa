"""Simple recognisable shapes for the props a prompt names (see ``prompt_reading.PROP_WORDS``).

Figure coordinates: x right from the figure's centre line, y up from the ground, the figure 100
units tall (head 66-84, shoulders 64, hands at (+-18.5, 36)). Props worn on the back are drawn
before the body ('behind'), everything else after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import ImageDraw

from chargen_resources.emulator.colours import RGB

PointFn = Callable[[float, float], tuple[float, float]]
BoxFn = Callable[[float, float, float, float], list[float]]

METAL: RGB = (196, 200, 210)
WOOD: RGB = (112, 72, 40)
GLOW: RGB = (255, 226, 120)
HAND_Y = 36.0
HAND_X = 18.5

BEHIND = frozenset({"cape", "banner", "quiver", "pack", "back"})
# Held in one hand: the side each prefers (1 = the figure's right, drawn on the image's right).
HELD: dict[str, int] = {
    "sword": 1, "staff": 1, "spear": 1, "scythe": 1, "axe": 1, "cannon": 1,
    "shield": -1, "lantern": -1, "book": -1, "orb": -1, "bow": -1, "lute": 1,
}  # fmt: skip
LONG = frozenset({"sword", "staff", "spear", "scythe", "axe", "bow"})


@dataclass(frozen=True)
class Pen:
    draw: ImageDraw.ImageDraw
    point: PointFn
    box: BoxFn
    unit: float
    primary: RGB
    secondary: RGB
    accent: RGB

    def line(self, points: list[tuple[float, float]], fill: RGB, width: float) -> None:
        self.draw.line(
            [self.point(x, y) for x, y in points], fill=fill, width=max(1, int(width * self.unit))
        )

    def polygon(self, points: list[tuple[float, float]], fill: RGB) -> None:
        self.draw.polygon([self.point(x, y) for x, y in points], fill=fill)

    def ellipse(self, x: float, y: float, r: float, fill: RGB) -> None:
        self.draw.ellipse(self.box(x - r, y + r, x + r, y - r), fill=fill)


def place(kinds: list[str]) -> list[tuple[str, int]]:
    """Each prop with the side it goes on: hands first, then the back for long ones, then the
    belt. Twin daggers take both hands."""
    free = {1, -1}
    placed: list[tuple[str, int]] = []
    belt = 0
    for kind in kinds:
        if kind == "daggers" and free == {1, -1}:
            free.clear()
            placed.append((kind, 0))
        elif kind in HELD:
            side = HELD[kind] if HELD[kind] in free else next(iter(sorted(free)), None)
            if side is not None:
                free.discard(side)
                placed.append((kind, side))
            elif kind in LONG:
                placed.append(("back", 0))
            else:
                belt += 1
                placed.append(("item", belt))
        elif kind in ("item", "daggers", "horn", "rope"):
            belt += 1
            placed.append((kind, belt))
        else:
            placed.append((kind, 0))
    return placed


def draw_prop(pen: Pen, kind: str, side: int) -> None:
    DRAWERS.get(kind, _item)(pen, side)


def _sword(pen: Pen, side: int) -> None:
    x = side * HAND_X
    pen.line([(x, HAND_Y), (x + side * 10, HAND_Y + 40)], METAL, 2.2)
    pen.line([(x - 4, HAND_Y + 4), (x + 4, HAND_Y + 2)], pen.accent, 1.8)
    pen.line([(x, HAND_Y), (x - side * 1.5, HAND_Y - 5)], WOOD, 1.6)


def _daggers(pen: Pen, side: int) -> None:
    if side:  # one dagger at the belt
        pen.line([(side * 10, 42), (side * 16, 30)], METAL, 1.6)
        return
    for hand in (-1, 1):
        x = hand * HAND_X
        pen.line([(x, HAND_Y), (x + hand * 7, HAND_Y - 13)], METAL, 1.8)
        pen.line([(x - 2.5, HAND_Y), (x + 2.5, HAND_Y)], pen.accent, 1.4)


def _pole(pen: Pen, side: int, top: float = 94) -> float:
    x = side * (HAND_X + 4)
    pen.line([(x, 0), (x, top)], WOOD, 2.0)
    return x


def _staff(pen: Pen, side: int) -> None:
    x = _pole(pen, side, 90)
    pen.ellipse(x, 93, 4.5, pen.accent)
    pen.ellipse(x - 1.2, 94.5, 1.5, GLOW)


def _spear(pen: Pen, side: int) -> None:
    x = _pole(pen, side, 90)
    pen.polygon([(x - 3, 89), (x + 3, 89), (x, 100)], METAL)


def _scythe(pen: Pen, side: int) -> None:
    x = _pole(pen, side, 96)
    pen.polygon([(x, 96), (x - side * 26, 90), (x - side * 10, 99), (x, 100)], METAL)


def _axe(pen: Pen, side: int) -> None:
    x = side * HAND_X
    pen.line([(x, HAND_Y - 4), (x + side * 4, HAND_Y + 30)], WOOD, 2.0)
    head = x + side * 4
    pen.polygon(
        [(head, HAND_Y + 30), (head + side * 12, HAND_Y + 36), (head + side * 12, HAND_Y + 18),
         (head, HAND_Y + 22)], METAL,
    )  # fmt: skip


def _bow(pen: Pen, side: int) -> None:
    x = side * (HAND_X + 6)
    box = pen.box(x - 9, 70, x + 9, 4)
    start, end = (270, 90) if side < 0 else (90, 270)
    pen.draw.arc(box, start=start, end=end, fill=WOOD, width=max(1, int(2 * pen.unit)))
    pen.line([(x, 70), (x, 4)], (235, 235, 225), 0.5)


def _shield(pen: Pen, side: int) -> None:
    x = side * (HAND_X + 3)
    pen.polygon([(x - 9, 58), (x + 9, 58), (x + 8, 38), (x, 24), (x - 8, 38)], pen.secondary)
    pen.polygon([(x - 1.5, 56), (x + 1.5, 56), (x + 1.5, 30), (x - 1.5, 30)], pen.accent)


def _lantern(pen: Pen, side: int) -> None:
    x = side * HAND_X
    pen.line([(x, HAND_Y), (x, HAND_Y - 6)], (60, 60, 60), 0.6)
    pen.polygon([(x - 4, HAND_Y - 6), (x + 4, HAND_Y - 6), (x + 3.5, HAND_Y - 17),
                 (x - 3.5, HAND_Y - 17)], (60, 50, 40))  # fmt: skip
    pen.ellipse(x, HAND_Y - 11.5, 3, GLOW)


def _book(pen: Pen, side: int) -> None:
    x = side * (HAND_X + 2)
    pen.polygon([(x - 6, HAND_Y + 8), (x + 6, HAND_Y + 8), (x + 6, HAND_Y - 6),
                 (x - 6, HAND_Y - 6)], pen.secondary)  # fmt: skip
    pen.polygon([(x - 4.5, HAND_Y + 6), (x + 4.5, HAND_Y + 6), (x + 4.5, HAND_Y - 4),
                 (x - 4.5, HAND_Y - 4)], (245, 238, 215))  # fmt: skip
    pen.line([(x, HAND_Y + 6), (x, HAND_Y - 4)], pen.secondary, 0.8)


def _orb(pen: Pen, side: int) -> None:
    x = side * HAND_X
    pen.ellipse(x, HAND_Y + 6, 6, pen.accent)
    pen.ellipse(x - 2, HAND_Y + 8, 2.2, GLOW)


def _crown(pen: Pen, side: int) -> None:
    gold = (236, 190, 60)
    pen.polygon([(-8, 83), (-9, 92), (-4.5, 87), (0, 95), (4.5, 87), (9, 92), (8, 83)], gold)
    pen.ellipse(0, 86, 1.5, (200, 30, 60))


def _hat(pen: Pen, side: int) -> None:
    pen.polygon([(-16, 82), (16, 82), (13, 85), (-13, 85)], pen.secondary)
    pen.polygon([(-9, 84), (9, 84), (3, 104)], pen.secondary)
    pen.ellipse(5, 88, 2, pen.accent)


def _hood(pen: Pen, side: int) -> None:
    shade = tuple(int(c * 0.55) for c in pen.secondary)
    pen.polygon([(-12, 64), (-11, 82), (0, 93), (11, 82), (12, 64), (8, 78), (-8, 78)], shade)  # type: ignore[arg-type]


def _helm(pen: Pen, side: int) -> None:
    pen.polygon([(-10, 70), (-10, 84), (-5, 88), (5, 88), (10, 84), (10, 70)], METAL)
    pen.polygon([(-7, 78), (7, 78), (7, 76), (-7, 76)], (40, 40, 50))
    pen.polygon([(-1.5, 88), (1.5, 88), (3, 96), (-3, 93)], pen.accent)


def _horns(pen: Pen, side: int) -> None:
    for s in (-1, 1):
        pen.polygon([(s * 5, 82), (s * 10, 86), (s * 15, 96), (s * 11, 90), (s * 4, 86)], METAL)


def _banner(pen: Pen, side: int) -> None:
    pen.line([(-12, 20), (-12, 104)], WOOD, 1.6)
    pen.polygon([(-12, 103), (-30, 103), (-27, 92), (-30, 81), (-12, 81)], pen.accent)


def _lute(pen: Pen, side: int) -> None:
    pen.line([(2, 46), (22, 62)], WOOD, 1.6)
    pen.ellipse(-2, 44, 7, (200, 140, 60))
    pen.ellipse(-2, 44, 2, (60, 40, 20))


def _cape(pen: Pen, side: int) -> None:
    pen.polygon([(-15, 66), (15, 66), (22, 6), (-22, 6)], pen.secondary)


def _quiver(pen: Pen, side: int) -> None:
    pen.polygon([(8, 68), (14, 70), (20, 44), (14, 42)], (120, 80, 40))
    for dx in (0, 3, 6):
        pen.line([(10 + dx, 70), (9 + dx, 76)], (235, 235, 225), 0.6)


def _pack(pen: Pen, side: int) -> None:
    pen.polygon([(-25, 74), (25, 74), (26, 38), (-26, 38)], (110, 80, 50))
    pen.ellipse(0, 74, 5, (90, 64, 40))  # the rolled blanket on top


def _back(pen: Pen, side: int) -> None:
    pen.line([(-22, 14), (22, 90)], WOOD, 1.8)  # a long second weapon slung across the back


def _rope(pen: Pen, side: int) -> None:
    for r in (4.0, 2.5):
        pen.draw.ellipse(pen.box(-14 - r, 44 + r, -14 + r, 44 - r), outline=(170, 140, 90),
                         width=max(1, int(pen.unit)))  # fmt: skip


def _beads(pen: Pen, side: int) -> None:
    for i in range(7):
        pen.ellipse(-7 + i * 2.3, 60 - abs(i - 3) * 0.9, 1.1, pen.accent)


def _cannon(pen: Pen, side: int) -> None:
    x = side * HAND_X
    pen.polygon([(x - 4, 52), (x + 4, 52), (x + 4, 30), (x - 4, 30)], METAL)
    pen.ellipse(x, 29, 2.5, GLOW)


def _visor(pen: Pen, side: int) -> None:
    pen.polygon([(-9, 79), (9, 79), (9, 74), (-9, 74)], pen.accent)


def _horn(pen: Pen, side: int) -> None:
    pen.polygon([(side * 14, 44), (side * 22, 40), (side * 24, 46)], (235, 225, 200))


def _item(pen: Pen, side: int) -> None:
    """An unknown prop: a charm at the belt, one slot further out each time."""
    x = 7.0 * max(1, side) - 3
    pen.polygon([(x, 44), (x + 3, 40), (x, 36), (x - 3, 40)], pen.accent)


DRAWERS: dict[str, Callable[[Pen, int], None]] = {
    "sword": _sword, "daggers": _daggers, "staff": _staff, "spear": _spear, "scythe": _scythe,
    "axe": _axe, "bow": _bow, "shield": _shield, "lantern": _lantern, "book": _book, "orb": _orb,
    "crown": _crown, "hat": _hat, "hood": _hood, "helm": _helm, "horns": _horns,
    "banner": _banner, "lute": _lute, "cape": _cape, "quiver": _quiver, "pack": _pack,
    "back": _back, "rope": _rope, "beads": _beads, "cannon": _cannon, "visor": _visor,
    "horn": _horn, "item": _item,
}  # fmt: skip
