"""Draw the bundled sample characters into samples/inbox/ (deterministic: same bytes every run).

    .venv/bin/python samples/make_samples.py

Each character is a simple figure (head, body, arms, legs, a weapon or prop) built from
polygons in figure coordinates, then rendered in one of four styles: flat colour, hatched
colour, monochrome ink line-art, or neon outlines. Views of the same character (front, side,
close-up) share the figure so the references agree with each other.
"""

from __future__ import annotations

import io
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from PIL import Image, ImageChops, ImageDraw, ImageFilter

SAMPLES_DIR = Path(__file__).resolve().parent
INBOX_DIR = SAMPLES_DIR / "inbox"
STYLE_DIR = SAMPLES_DIR / "style"
SUPERSAMPLE = 2  # draw at 2x and downscale: smooth edges without antialiasing support in Draw
MAX_FILE_BYTES = 200_000

Colour = tuple[int, int, int]
Point = tuple[float, float]
Style = Literal["flat", "hatch", "ink", "neon"]
Role = Literal["primary", "secondary", "accent", "skin", "dark", "metal"]


@dataclass(frozen=True)
class Palette:
    background: Colour
    background_low: Colour  # bottom of the background gradient
    primary: Colour
    secondary: Colour
    accent: Colour
    skin: Colour
    dark: Colour
    metal: Colour
    outline: Colour

    @classmethod
    def parse(cls, hex_colours: str) -> Palette:
        """Nine hex colours in field order: background, background_low, primary, ... outline."""
        colours = [(int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)) for h in hex_colours.split()]
        return cls(*colours)


@dataclass(frozen=True)
class Figure:
    weapon: Literal[
        "sword", "staff", "lute", "katana", "blade", "sickle", "cleaver", "scythe",
        "walking-stick", "lantern", "bow",
    ]  # fmt: skip
    headgear: Literal["helm", "hood", "hat", "crown", "horns", "topknot", "none"] = "none"
    cape: bool = False
    shield: bool = False
    robe: bool = False  # a long skirt instead of legs
    bulk: float = 1.0  # body width factor
    arm_raise: float = 0.0  # weapon arm angle, radians upward from hanging


@dataclass(frozen=True)
class Shape:
    role: Role
    kind: Literal["polygon", "ellipse", "line"]
    points: tuple[Point, ...]
    width: float = 0.0  # line width in figure units
    shade: bool = False  # hatched/cross-hatched in the shaded styles


@dataclass(frozen=True)
class View:
    file_name: str
    size: tuple[int, int]
    mirror: bool = False
    zoom: float = 1.0  # 1 = the whole figure fits the height
    focus_y: float = 0.5  # which height of the figure (0 = head top, 1 = feet) sits at centre
    turn: float = 1.0  # narrower body for a three-quarter view
    arm_raise: float | None = None
    quality: int = 85  # JPEG / WEBP quality


@dataclass(frozen=True)
class Character:
    folder: str | None  # None: a loose image at the inbox root
    palette: Palette
    figure: Figure
    style: Style
    views: tuple[View, ...]
    spec: str | None = None  # character.yaml text
    extra_files: dict[str, str] = field(default_factory=dict)  # non-image files, on purpose


# --- figure geometry (x right, y down; head top at y=0, feet at y=8; centre line x=0) ---------


def _body_shapes(figure: Figure, turn: float, arm_raise: float) -> list[Shape]:
    w = figure.bulk * turn
    shapes: list[Shape] = []
    if figure.cape:
        shapes.append(
            Shape(
                "secondary",
                "polygon",
                ((-1.3 * w, 1.9), (1.3 * w, 1.9), (1.9 * w, 7.3), (-1.9 * w, 7.3)),
                shade=True,
            )
        )
    if figure.robe:
        shapes.append(
            Shape(
                "secondary",
                "polygon",
                ((-1.0 * w, 4.2), (1.0 * w, 4.2), (1.7 * w, 7.9), (-1.7 * w, 7.9)),
                shade=True,
            )
        )
    else:
        for side in (-1, 1):
            hip, foot = side * 0.45 * w, side * 0.6 * w
            shapes.append(
                Shape(
                    "dark",
                    "polygon",
                    ((hip - 0.38, 4.3), (hip + 0.38, 4.3), (foot + 0.3, 7.7), (foot - 0.3, 7.7)),
                    shade=True,
                )
            )
            shapes.append(Shape("dark", "ellipse", ((foot - 0.5, 7.5), (foot + 0.55, 8.0))))
    shapes.append(
        Shape(
            "primary",
            "polygon",
            ((-1.15 * w, 1.9), (1.15 * w, 1.9), (0.85 * w, 4.5), (-0.85 * w, 4.5)),
        )
    )
    shapes.append(
        Shape(
            "accent",
            "polygon",
            ((-0.9 * w, 4.0), (0.9 * w, 4.0), (0.88 * w, 4.35), (-0.88 * w, 4.35)),
        )
    )
    shapes.append(Shape("skin", "polygon", ((-0.22, 1.5), (0.22, 1.5), (0.25, 2.0), (-0.25, 2.0))))
    # Left arm hangs (holds shield or lantern); right arm holds the weapon, raised by arm_raise.
    left_hand = (-1.5 * w, 4.4)
    shapes.append(
        Shape("primary", "line", ((-1.05 * w, 2.1), (-1.4 * w, 3.3), left_hand), width=0.5)
    )
    shapes.append(
        Shape("skin", "ellipse", ((left_hand[0] - 0.25, 4.2), (left_hand[0] + 0.25, 4.65)))
    )
    shoulder = (1.05 * w, 2.1)
    angle = math.pi / 2 - arm_raise
    elbow = (shoulder[0] + 0.45 + 0.9 * math.cos(angle) * 0.3, shoulder[1] + 1.2 * math.sin(angle))
    hand = (elbow[0] + 0.35 + 0.3 * math.cos(angle), elbow[1] + 1.1 * math.sin(angle))
    shapes.append(Shape("primary", "line", (shoulder, elbow, hand), width=0.5))
    shapes.append(
        Shape(
            "skin", "ellipse", ((hand[0] - 0.25, hand[1] - 0.22), (hand[0] + 0.25, hand[1] + 0.22))
        )
    )
    shapes += _weapon(figure, hand, left_hand)
    if figure.shield:
        x, y = left_hand
        shapes.append(
            Shape(
                "accent",
                "polygon",
                (
                    (x - 0.8, y - 1.4),
                    (x + 0.8, y - 1.4),
                    (x + 0.75, y - 0.2),
                    (x, y + 0.7),
                    (x - 0.75, y - 0.2),
                ),
            )
        )
        shapes.append(
            Shape(
                "metal",
                "polygon",
                ((x - 0.12, y - 1.3), (x + 0.12, y - 1.3), (x + 0.1, y + 0.4), (x - 0.1, y + 0.4)),
            )
        )
    return shapes


def _weapon(figure: Figure, hand: Point, left_hand: Point) -> list[Shape]:
    x, y = hand
    kind = figure.weapon
    if kind in ("sword", "katana"):
        tip = (x + 0.9, y - 3.6) if kind == "sword" else (x + 1.0, y - 3.0)
        return [
            Shape("metal", "line", ((x, y), tip), width=0.28 if kind == "sword" else 0.18),
            Shape("accent", "line", ((x - 0.55, y + 0.1), (x + 0.55, y - 0.1)), width=0.18),
            Shape("dark", "line", ((x, y), (x - 0.12, y + 0.55)), width=0.16),
        ]
    if kind in ("staff", "walking-stick"):
        top = (x + 0.15, y - 3.9) if kind == "staff" else (x + 0.1, y - 2.2)
        shapes = [Shape("dark", "line", ((x - 0.1, y + 3.4), top), width=0.2)]
        if kind == "staff":
            shapes.append(
                Shape(
                    "accent",
                    "ellipse",
                    ((top[0] - 0.45, top[1] - 0.8), (top[0] + 0.45, top[1] + 0.1)),
                )
            )
        return shapes
    if kind == "lute":
        return [
            Shape("accent", "ellipse", ((x - 1.6, y - 0.7), (x - 0.2, y + 0.8))),
            Shape("dark", "line", ((x - 0.6, y), (x + 1.3, y - 1.8)), width=0.18),
            Shape("dark", "ellipse", ((x - 1.05, y - 0.15), (x - 0.75, y + 0.15))),
        ]
    if kind == "blade":
        return [
            Shape(
                "accent",
                "polygon",
                ((x - 0.08, y), (x + 0.08, y), (x + 1.3, y - 2.4), (x + 1.1, y - 2.5)),
            ),
            Shape(
                "accent",
                "polygon",
                (
                    (left_hand[0] - 0.08, left_hand[1]),
                    (left_hand[0] + 0.08, left_hand[1]),
                    (left_hand[0] - 1.2, left_hand[1] - 2.2),
                    (left_hand[0] - 1.0, left_hand[1] - 2.3),
                ),
            ),
        ]
    if kind == "sickle":
        return [
            Shape("dark", "line", ((x, y + 0.4), (x + 0.2, y - 1.0)), width=0.16),
            Shape(
                "metal",
                "polygon",
                ((x + 0.2, y - 1.0), (x + 1.2, y - 2.0), (x + 1.5, y - 1.3), (x + 1.0, y - 1.6)),
            ),
        ]
    if kind == "cleaver":
        return [
            Shape("dark", "line", ((x, y + 0.2), (x + 0.3, y - 0.8)), width=0.18),
            Shape(
                "metal",
                "polygon",
                ((x + 0.1, y - 0.8), (x + 1.4, y - 1.2), (x + 1.5, y - 2.6), (x - 0.1, y - 2.0)),
            ),
        ]
    if kind == "scythe":
        top = (x + 0.3, y - 4.2)
        return [
            Shape("dark", "line", ((x - 0.2, y + 3.2), top), width=0.18),
            Shape(
                "metal",
                "polygon",
                (
                    top,
                    (top[0] - 2.6, top[1] + 0.4),
                    (top[0] - 1.2, top[1] - 0.3),
                    (top[0] + 0.1, top[1] + 0.35),
                ),
            ),
        ]
    if kind == "lantern":
        lx, ly = left_hand
        return [
            Shape("dark", "line", ((x, y + 3.0), (x + 0.3, y - 2.5)), width=0.18),
            Shape("dark", "line", ((lx, ly), (lx, ly + 0.5)), width=0.06),
            Shape(
                "accent",
                "polygon",
                (
                    (lx - 0.35, ly + 0.5),
                    (lx + 0.35, ly + 0.5),
                    (lx + 0.3, ly + 1.4),
                    (lx - 0.3, ly + 1.4),
                ),
            ),
        ]
    # bow
    return [
        Shape(
            "dark",
            "line",
            tuple(
                (x + 0.6 * math.sin(t / 10 * math.pi), y - 2.2 + 4.4 * t / 10) for t in range(11)
            ),
            width=0.16,
        ),
        Shape("metal", "line", ((x, y - 2.2), (x, y + 2.2)), width=0.04),
    ]


def _head_shapes(figure: Figure, turn: float) -> list[Shape]:
    shapes = [Shape("skin", "ellipse", ((-0.7 * turn, 0.1), (0.7 * turn, 1.7)))]
    eyes_visible = figure.headgear not in ("helm",)
    gear = figure.headgear
    if gear == "helm":
        shapes.append(
            Shape(
                "metal",
                "polygon",
                ((-0.8, 1.5), (-0.85, 0.5), (-0.4, -0.05), (0.4, -0.05), (0.85, 0.5), (0.8, 1.5)),
            )
        )
        shapes.append(
            Shape("dark", "polygon", ((-0.55, 0.75), (0.55, 0.75), (0.55, 0.92), (-0.55, 0.92)))
        )
        shapes.append(
            Shape("accent", "polygon", ((-0.1, -0.05), (0.1, -0.05), (0.3, -0.9), (-0.3, -0.6)))
        )
    elif gear == "hood":
        shapes.insert(
            0,
            Shape(
                "secondary",
                "polygon",
                ((-1.0, 1.9), (-0.95, 0.4), (0.0, -0.45), (0.95, 0.4), (1.0, 1.9)),
            ),
        )
        shapes.append(
            Shape(
                "dark", "polygon", ((-0.7, 1.0), (-0.5, 0.35), (0.5, 0.35), (0.7, 1.0), (0.0, 0.8))
            )
        )
    elif gear == "hat":
        shapes.append(
            Shape("secondary", "polygon", ((-1.5, 0.45), (1.5, 0.45), (1.3, 0.25), (-1.3, 0.25)))
        )
        shapes.append(Shape("secondary", "polygon", ((-0.7, 0.3), (0.7, 0.3), (0.2, -1.2))))
        shapes.append(Shape("accent", "ellipse", ((0.15, -0.3), (0.55, 0.1))))
    elif gear == "crown":
        shapes.append(
            Shape(
                "accent",
                "polygon",
                (
                    (-0.6, 0.35),
                    (-0.65, -0.3),
                    (-0.3, 0.05),
                    (0.0, -0.45),
                    (0.3, 0.05),
                    (0.65, -0.3),
                    (0.6, 0.35),
                ),
            )
        )
    elif gear == "horns":
        for side in (-1, 1):
            horn = (
                (0.3, 0.35),
                (0.7, 0.15),
                (1.05, -0.3),
                (1.1, -0.85),
                (0.8, -0.35),
                (0.45, -0.05),
                (0.2, 0.1),
            )
            shapes.append(Shape("metal", "polygon", tuple((side * x, y) for x, y in horn)))
    elif gear == "topknot":
        shapes.append(Shape("dark", "ellipse", ((-0.25, -0.35), (0.25, 0.15))))
        shapes.append(
            Shape(
                "dark", "polygon", ((-0.7, 0.7), (-0.6, 0.2), (0.6, 0.2), (0.7, 0.7), (0.0, 0.45))
            )
        )
    if eyes_visible:
        for side in (-1, 1):
            ex = side * 0.27 * turn
            shapes.append(Shape("dark", "ellipse", ((ex - 0.08, 0.85), (ex + 0.08, 1.02))))
    return shapes


def figure_shapes(figure: Figure, view: View) -> list[Shape]:
    arm_raise = figure.arm_raise if view.arm_raise is None else view.arm_raise
    return _body_shapes(figure, view.turn, arm_raise) + _head_shapes(figure, view.turn)


# --- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transform:
    scale: float
    origin: Point
    mirror: bool

    def point(self, p: Point) -> Point:
        x = -p[0] if self.mirror else p[0]
        return (self.origin[0] + x * self.scale, self.origin[1] + p[1] * self.scale)


def _draw_shape(
    draw: ImageDraw.ImageDraw,
    shape: Shape,
    t: Transform,
    fill: Colour | int | None,
    outline: Colour | int | None,
    outline_width: int,
) -> None:
    points = [t.point(p) for p in shape.points]
    if shape.kind == "polygon":
        draw.polygon(points, fill=fill, outline=outline, width=outline_width)
    elif shape.kind == "ellipse":
        xs, ys = sorted(p[0] for p in points), sorted(p[1] for p in points)
        draw.ellipse((xs[0], ys[0], xs[1], ys[1]), fill=fill, outline=outline, width=outline_width)
    else:
        width = max(1, round(shape.width * t.scale))
        if outline is not None and outline_width:
            draw.line(points, fill=outline, width=width + 2 * outline_width, joint="curve")
        if fill is not None:
            draw.line(points, fill=fill, width=width, joint="curve")


def _hatch(
    size: tuple[int, int], colour: Colour, spacing: int, angle: float, width: int
) -> Image.Image:
    layer = Image.new("RGBA", size, (*colour, 0))
    draw = ImageDraw.Draw(layer)
    w, h = size
    dx = math.tan(angle) * h
    for x in range(-int(abs(dx)) - spacing, w + int(abs(dx)) + spacing, spacing):
        draw.line(((x, 0), (x + dx, h)), fill=(*colour, 255), width=width)
    return layer


def _mix(a: Colour, b: Colour, share: float) -> Colour:
    return tuple(round(x * (1 - share) + y * share) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _background(size: tuple[int, int], palette: Palette) -> Image.Image:
    top = Image.new("RGB", size, palette.background)
    bottom = Image.new("RGB", size, palette.background_low)
    gradient = Image.linear_gradient("L").resize(size)
    return Image.composite(bottom, top, gradient)


def render(character: Character, view: View) -> Image.Image:
    w, h = view.size
    size = (w * SUPERSAMPLE, h * SUPERSAMPLE)
    palette, style = character.palette, character.style
    scale = size[1] / 10.0 * view.zoom  # the figure is 8 units tall; props reach beyond
    origin = (size[0] / 2, size[1] / 2 - view.focus_y * 8 * scale)
    t = Transform(scale, origin, view.mirror)
    shapes = figure_shapes(character.figure, view)
    line = max(2, round(0.05 * scale))

    canvas = _background(size, palette)
    draw = ImageDraw.Draw(canvas)
    ground = t.point((0, 8.0))
    shadow = _mix(palette.background_low, palette.dark, 0.5)
    draw.ellipse(
        (
            ground[0] - 2.2 * scale,
            ground[1] - 0.3 * scale,
            ground[0] + 2.2 * scale,
            ground[1] + 0.3 * scale,
        ),
        fill=shadow,
    )

    if style == "neon":
        glow = Image.new("RGB", size, (0, 0, 0))
        glow_draw = ImageDraw.Draw(glow)
        for shape in shapes:
            colour = getattr(palette, shape.role)
            _draw_shape(glow_draw, shape, t, None, colour, line * 4)
        canvas = ImageChops.add(canvas, glow.filter(ImageFilter.GaussianBlur(6 * SUPERSAMPLE)))
        draw = ImageDraw.Draw(canvas)
        for shape in shapes:
            fill = _mix(getattr(palette, shape.role), (0, 0, 0), 0.6)
            _draw_shape(draw, shape, t, fill, getattr(palette, shape.role), line)
    else:
        for index, shape in enumerate(shapes):
            colour = getattr(palette, shape.role)
            fill = palette.background if style == "ink" else colour
            _draw_shape(draw, shape, t, fill, palette.outline, line)
            if style in ("hatch", "ink") and (shape.shade or shape.role in ("dark", "secondary")):
                mask = Image.new("L", size, 0)
                _draw_shape(ImageDraw.Draw(mask), shape, t, 255, None, 0)
                ink = palette.outline if style == "ink" else _mix(colour, palette.outline, 0.55)
                spacing = 6 * SUPERSAMPLE if style == "ink" else 9 * SUPERSAMPLE
                hatch = _hatch(size, ink, spacing, 0.5 + 0.3 * (index % 3), SUPERSAMPLE)
                if style == "ink" and shape.shade:
                    cross = _hatch(size, ink, spacing, -0.6, SUPERSAMPLE)
                    hatch = Image.alpha_composite(hatch, cross)
                alpha = ImageChops.multiply(hatch.getchannel("A"), mask)
                canvas.paste(hatch.convert("RGB"), (0, 0), alpha)
                _draw_shape(draw, shape, t, None, palette.outline, line)
    return canvas.resize(view.size, Image.Resampling.LANCZOS)


def encode(image: Image.Image, file_name: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    suffix = Path(file_name).suffix.lower()
    if suffix == ".png":
        # A 64-colour palette keeps flat and line-art sketches small and exact.
        image.quantize(64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buffer, "PNG", optimize=True
        )
    elif suffix in (".jpg", ".jpeg"):
        image.save(buffer, "JPEG", quality=quality, optimize=True)
    else:
        image.save(buffer, "WEBP", quality=quality, method=6)
    return buffer.getvalue()


# --- the cast -------------------------------------------------------------------------------

FRONT = View("front.png", (512, 768))
SIDE = View("side.jpg", (512, 768), mirror=True, turn=0.7, arm_raise=1.1)
CLOSE = View("closeup.webp", (640, 640), zoom=2.2, focus_y=0.28)

CAST: tuple[Character, ...] = (
    Character(
        "crimson-knight",
        Palette.parse("7a1218 3c060a c81e24 8c0a14 f0be3c ebbea0 460a0e cdc8cd 1e0406"),
        Figure("sword", "helm", cape=True, shield=True, bulk=1.1, arm_raise=0.3),
        "flat",
        (FRONT, SIDE, CLOSE),
        spec="display_name: Ser Maren of the Red Vale\n"
        "notes: a stern knight in crimson plate who carries her late brother's banner\n",
    ),
    Character(
        "gloom-warden",
        Palette.parse("1c1e26 08080c 3a3c48 22222c 96aa78 96968c 0e0e12 787c82 040406"),
        Figure("scythe", "hood", cape=True, robe=True, arm_raise=0.1),
        "hatch",
        (replace(FRONT, file_name="front.jpg", quality=80), replace(CLOSE, file_name="hood.png")),
        spec="display_name: The Gloom Warden\n"
        "notes: a silent keeper of the drowned cemetery, lantern-eyed under the hood\n"
        "aspect_ratio: 2:3\nimage_size: 2K\n",
    ),
    Character(
        "pastel-bard",
        Palette.parse("fae4ec d6e8fa b4d6f0 f4c2d6 fae8a0 ffe2d2 9682aa e6e6f0 78648c"),
        Figure("lute", "hat", bulk=0.95, arm_raise=0.6),
        "flat",
        (replace(FRONT, file_name="bard.webp", quality=82),),
        spec="display_name: Pip Merriweather\nnotes: a cheerful travelling bard with a feathered hat\n",
    ),
    Character(
        "tide-oracle",
        Palette.parse("0c5c60 062e3c 148c8c 0a5a64 ecbe46 d2aa82 063238 f0d678 041e22"),
        Figure("staff", "crown", robe=True, arm_raise=0.2),
        "hatch",
        (replace(FRONT, file_name="oracle.png"), replace(SIDE, file_name="oracle-side.webp")),
        spec="display_name: Oracle of the Ninth Tide\n"
        "notes: a sea priestess whose golden staff calls the tides\n"
        "style_override: watercolour storybook illustration\n",
    ),
    Character(
        "ink-ronin",
        Palette.parse("f6f4ec ece8dc 000000 000000 000000 000000 000000 000000 101010"),
        Figure("katana", "topknot", cape=True, bulk=0.95, arm_raise=0.9),
        "ink",
        (
            replace(FRONT, file_name="ronin.jpg", quality=78),
            replace(CLOSE, file_name="ronin-face.jpg", quality=78),
        ),
        extra_files={"sketchbook-notes.txt": "Pose ideas: low stance, blade drawn.\n"},
    ),
    Character(
        "neon-runner",
        Palette.parse("080414 020008 ff28c8 28f0ff fafa3c ff8cdc 783cff 3cff8c 000000"),
        Figure("blade", "none", bulk=0.9, arm_raise=1.0),
        "neon",
        (replace(FRONT, file_name="runner.png", size=(640, 640), zoom=1.1, focus_y=0.5),),
        spec="display_name: Vex, Neon Runner\naspect_ratio: 1:1\n",
    ),
    Character(
        "moss-druid",
        Palette.parse("c4cca0 788c5a 4a6e32 6e502c c8963c d6b48c 322818 96a078 1e2212"),
        Figure("staff", "horns", cape=True, robe=True, bulk=1.05, arm_raise=0.15),
        "hatch",
        (
            replace(FRONT, file_name="druid.jpg", quality=80),
            replace(SIDE, file_name="druid-side.png"),
        ),
    ),
    Character(
        "Élodie the Pale",
        Palette.parse("ece8f6 cec8e2 f8f8fc c8bee6 aa96d2 f4e8e8 6e648c dcdce8 5a5078"),
        Figure("bow", "hood", robe=True, bulk=0.85, arm_raise=0.35),
        "flat",
        (replace(FRONT, file_name="élodie front.png"),),
        spec="notes: a pale huntress of the winter court\nimage_size: 1K\n",
    ),
    Character(
        "butcher-of-ashfield",
        Palette.parse("6e4632 3c241a 965a3c 603c28 be3c28 d2a082 321e16 aaa5a0 1e120c"),
        Figure("cleaver", "horns", bulk=1.2, arm_raise=0.5),
        "flat",
        (replace(FRONT, file_name="butcher.png"), replace(SIDE, file_name="butcher-side.jpg")),
        spec="display_name: The Butcher of Ashfield\n"
        "notes: a gory battlefield butcher in a blood-soaked apron\n",
    ),
    Character(
        None,
        Palette.parse("d6c4a0 b0966e 967854 6e5a40 466e96 dcbea0 463828 bebeb4 32281e"),
        Figure("walking-stick", "hat", cape=True, arm_raise=0.1),
        "hatch",
        (replace(FRONT, file_name="wandering-hermit.jpg", quality=80),),
    ),
)


def write_inbox(cast: Sequence[Character], inbox: Path) -> list[Path]:
    if inbox.exists():
        shutil.rmtree(inbox)  # only our own generated folder, so stale files never linger
    inbox.mkdir(parents=True)
    written: list[Path] = []
    for character in cast:
        folder = inbox if character.folder is None else inbox / character.folder
        folder.mkdir(exist_ok=True)
        for view in character.views:
            data = encode(render(character, view), view.file_name, view.quality)
            if len(data) > MAX_FILE_BYTES:
                raise SystemExit(f"{view.file_name}: {len(data)} bytes, over {MAX_FILE_BYTES}")
            path = folder / view.file_name
            path.write_bytes(data)
            written.append(path)
        if character.spec is not None:
            path = folder / "character.yaml"
            path.write_text(character.spec, encoding="utf-8")
            written.append(path)
        for name, text in character.extra_files.items():
            path = folder / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


STYLE_YAML = """\
# The cast's style guide: copy this folder into your inbox as _style/ (see the README).
art_direction: painterly fantasy, warm rim light, soft painted edges, muted backgrounds
palette: [deep teal, burnt orange, bone white, charcoal]
"""


def write_style(folder: Path) -> list[Path]:
    """A style guide to add to an inbox as `_style/`: style.yaml and one mood board."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    board = Image.new("RGB", (384, 256), (236, 228, 212))
    pen = ImageDraw.Draw(board)
    swatches = [(22, 78, 86), (196, 98, 45), (236, 228, 212), (44, 44, 48)]
    for index, colour in enumerate(swatches):
        pen.rectangle((16 + index * 92, 176, 96 + index * 92, 240), fill=colour)
    for step in range(12):  # soft painted strokes behind a warm-lit figure
        shade = _mix((22, 78, 86), (196, 98, 45), step / 11)
        pen.ellipse(
            (40 + step * 24, 30 + (step % 3) * 8, 120 + step * 24, 150), outline=shade, width=6
        )
    pen.ellipse((168, 36, 216, 84), fill=(196, 98, 45))
    pen.rectangle((160, 88, 224, 168), fill=(22, 78, 86))
    board_path = folder / "mood-board.png"
    board.save(board_path, format="PNG", optimize=True)
    spec = folder / "style.yaml"
    spec.write_text(STYLE_YAML, encoding="utf-8")
    return [board_path, spec]


def main() -> None:
    written = write_inbox(CAST, INBOX_DIR) + write_style(STYLE_DIR)
    total = sum(path.stat().st_size for path in written)
    for path in written:
        print(f"{path.stat().st_size:>8}  {path.relative_to(SAMPLES_DIR)}")
    print(f"{total:>8}  total, {len(CAST)} characters and a style guide")


if __name__ == "__main__":
    main()
