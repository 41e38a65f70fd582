"""Geometry of every kind of object and of its parts, as exact boolean masks.

A kind is drawn around a centre `(cx, cy)` with a "radius" `r` (its rough half extent; nothing
reaches further than `EXTENT * r` from the centre) and `flip` (+1 or -1) that mirrors asymmetric
kinds left-right. Parts come in drawing order: a later part covers an earlier one of the same
object (the door is drawn over the walls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from skimage.draw import polygon as fill_polygon

# No kind reaches further than this many radii from its centre; placement keeps objects inside.
EXTENT = 1.15

Mask = np.ndarray  # bool (H, W)


@dataclass(frozen=True)
class Grid:
    """Pixel-centre coordinates of an image, shared by every drawing call."""

    x: np.ndarray  # float32 (H, W): column index
    y: np.ndarray  # float32 (H, W): row index

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape  # type: ignore[return-value]


@lru_cache(maxsize=8)
def grid(size: int) -> Grid:
    """The coordinate grid of a `size` x `size` image (cached; treat as read-only)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return Grid(x=x, y=y)


def disc(g: Grid, cx: float, cy: float, r: float) -> Mask:
    return (g.x - cx) ** 2 + (g.y - cy) ** 2 <= r * r


def annulus(g: Grid, cx: float, cy: float, r_in: float, r_out: float) -> Mask:
    d2 = (g.x - cx) ** 2 + (g.y - cy) ** 2
    return (d2 <= r_out * r_out) & (d2 >= r_in * r_in)


def rect(g: Grid, x0: float, y0: float, x1: float, y1: float) -> Mask:
    """Pixels whose centres lie in the box; the corners may come in either order."""
    xa, xb = sorted((x0, x1))
    ya, yb = sorted((y0, y1))
    return (g.x >= xa) & (g.x <= xb) & (g.y >= ya) & (g.y <= yb)


def poly(g: Grid, points: list[tuple[float, float]]) -> Mask:
    """Pixels whose centres lie inside the polygon of (x, y) points."""
    mask = np.zeros(g.shape, dtype=bool)
    xs, ys = zip(*points, strict=True)
    rows, cols = fill_polygon(np.asarray(ys), np.asarray(xs), shape=g.shape)
    mask[rows, cols] = True
    return mask


def regular(cx: float, cy: float, radius: float, n: int, phase: float) -> list[tuple[float, float]]:
    """The corners of a regular n-gon."""
    angles = phase + 2 * np.pi * np.arange(n) / n
    return [(cx + radius * np.cos(a), cy + radius * np.sin(a)) for a in angles]


def half_width(r: float, share: float) -> float:
    """Half the width of a thin part (pole, stand): at least 1 px so it stays 3 px wide."""
    return max(share * r, 1.0)


# --- simple shapes: one part, named "" -------------------------------------------------------


def _circle(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    return [disc(g, cx, cy, r)]


def _square(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    s = 0.85 * r
    return [rect(g, cx - s, cy - s, cx + s, cy + s)]


def _triangle(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    return [poly(g, [(cx, cy - 1.05 * r), (cx - r, cy + 0.8 * r), (cx + r, cy + 0.8 * r)])]


def _ring(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    return [annulus(g, cx, cy, 0.55 * r, r)]


def _star(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    outer = regular(cx, cy, 1.12 * r, 5, -np.pi / 2)
    inner = regular(cx, cy, 0.48 * r, 5, -np.pi / 2 + np.pi / 5)
    return [poly(g, [p for pair in zip(outer, inner, strict=True) for p in pair])]


def _hexagon(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    return [poly(g, regular(cx, cy, r, 6, 0.0))]


def _cross(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    w = 0.34 * r
    return [rect(g, cx - r, cy - w, cx + r, cy + w) | rect(g, cx - w, cy - r, cx + w, cy + r)]


# --- things: several named parts -------------------------------------------------------------


def _mug(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    edge = cx + flip * 0.4 * r  # the side of the body the handle sits on
    loop = annulus(g, edge, cy + 0.05 * r, 0.27 * r, 0.55 * r)
    handle = loop & ((g.x - edge) * flip > 0)
    body = rect(g, cx - flip * 0.75 * r, cy - 0.7 * r, edge, cy + 0.8 * r)
    return [handle, body]


def _house(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    walls = rect(g, cx - 0.72 * r, cy - 0.15 * r, cx + 0.72 * r, cy + 0.9 * r)
    roof = poly(
        g, [(cx - 0.98 * r, cy - 0.1 * r), (cx, cy - 0.98 * r), (cx + 0.98 * r, cy - 0.1 * r)]
    )
    door_x = cx + flip * 0.3 * r
    door = rect(g, door_x - 0.18 * r, cy + 0.3 * r, door_x + 0.18 * r, cy + 0.9 * r)
    return [walls, roof, door]


def _lamp(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    w = half_width(r, 0.1)
    pole = rect(g, cx - w, cy - 0.3 * r, cx + w, cy + 0.8 * r)
    base = rect(g, cx - 0.5 * r, cy + 0.75 * r, cx + 0.5 * r, cy + 1.0 * r)
    shade = poly(
        g,
        [
            (cx - 0.38 * r, cy - 1.0 * r),
            (cx + 0.38 * r, cy - 1.0 * r),
            (cx + 0.75 * r, cy - 0.15 * r),
            (cx - 0.75 * r, cy - 0.15 * r),
        ],
    )
    return [pole | base, shade]


def _tree(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    trunk = rect(g, cx - 0.2 * r, cy, cx + 0.2 * r, cy + 1.05 * r)
    crown = disc(g, cx, cy - 0.3 * r, 0.75 * r)
    return [trunk, crown]


def _flag(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    pole_x = cx - flip * 0.75 * r
    w = half_width(r, 0.09)
    pole = rect(g, pole_x - w, cy - 1.0 * r, pole_x + w, cy + 1.0 * r)
    # The cloth's free edge waves a little, so it is more than a box.
    wave = 0.12 * r * np.sin((g.y - cy) * (2.5 / max(r, 1.0)))
    cloth = rect(g, pole_x, cy - 0.95 * r, cx + flip * 0.85 * r, cy - 0.05 * r)
    cloth &= (g.x - (cx + flip * 0.85 * r)) * flip <= wave
    cloth &= (g.x - pole_x) * flip > w
    return [pole, cloth]


def _umbrella(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    top = cy - 0.15 * r
    canopy = disc(g, cx, top, r) & (g.y <= top)
    w = half_width(r, 0.09)
    shaft = rect(g, cx - w, top, cx + w, cy + 0.75 * r)
    hook_x = cx - flip * 0.28 * r
    hook = annulus(g, hook_x, cy + 0.75 * r, 0.28 * r - 2 * w, 0.28 * r + w) & (
        g.y >= cy + 0.75 * r
    )
    return [shaft | hook, canopy]


def _car(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    lower = rect(g, cx - r, cy - 0.15 * r, cx + r, cy + 0.45 * r)
    cabin_pts = [(-0.65, -0.15), (-0.4, -0.7), (0.35, -0.7), (0.6, -0.15)]
    cabin = poly(g, [(cx + flip * dx * r, cy + dy * r) for dx, dy in cabin_pts])
    window_pts = [(-0.45, -0.22), (-0.3, -0.58), (0.27, -0.58), (0.43, -0.22)]
    window = poly(g, [(cx + flip * dx * r, cy + dy * r) for dx, dy in window_pts])
    wheels = disc(g, cx - 0.55 * r, cy + 0.45 * r, 0.3 * r) | disc(
        g, cx + 0.55 * r, cy + 0.45 * r, 0.3 * r
    )
    return [lower | cabin, window, wheels]


def _bottle(g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    body = rect(g, cx - 0.45 * r, cy - 0.2 * r, cx + 0.45 * r, cy + 1.05 * r)
    shoulder = poly(
        g, [(cx - 0.45 * r, cy - 0.2 * r), (cx, cy - 0.55 * r), (cx + 0.45 * r, cy - 0.2 * r)]
    )
    neck = rect(g, cx - 0.2 * r, cy - 1.05 * r, cx + 0.2 * r, cy - 0.35 * r)
    return [body | shoulder, neck]


Draw = Callable[[Grid, float, float, float, int], list[Mask]]


@dataclass(frozen=True)
class KindSpec:
    """How a kind looks: its parts in drawing order, each with the tone it is painted in."""

    draw: Draw
    parts: tuple[str, ...]  # ("",) for a simple shape
    tones: tuple[str, ...]  # "main" carries the object's colour and texture; see scene.TONES

    @property
    def is_thing(self) -> bool:
        """True for kinds made of named parts (mug, house ...), False for simple shapes."""
        return self.parts != ("",)


KINDS: dict[str, KindSpec] = {
    "circle": KindSpec(_circle, ("",), ("main",)),
    "square": KindSpec(_square, ("",), ("main",)),
    "triangle": KindSpec(_triangle, ("",), ("main",)),
    "ring": KindSpec(_ring, ("",), ("main",)),
    "star": KindSpec(_star, ("",), ("main",)),
    "hexagon": KindSpec(_hexagon, ("",), ("main",)),
    "cross": KindSpec(_cross, ("",), ("main",)),
    "mug": KindSpec(_mug, ("handle", "body"), ("shade", "main")),
    "house": KindSpec(_house, ("walls", "roof", "door"), ("main", "dark", "wood")),
    "lamp": KindSpec(_lamp, ("stand", "shade"), ("metal", "main")),
    "tree": KindSpec(_tree, ("trunk", "crown"), ("wood", "main")),
    "flag": KindSpec(_flag, ("pole", "cloth"), ("metal", "main")),
    "umbrella": KindSpec(_umbrella, ("handle", "canopy"), ("metal", "main")),
    "car": KindSpec(_car, ("body", "window", "wheels"), ("main", "glass", "tyre")),
    "bottle": KindSpec(_bottle, ("body", "neck"), ("main", "shade")),
}


def draw_kind(kind: str, g: Grid, cx: float, cy: float, r: float, flip: int) -> list[Mask]:
    """The full (unoccluded) masks of the parts of `kind`, in `KINDS[kind].parts` order."""
    return KINDS[kind].draw(g, cx, cy, r, flip)
