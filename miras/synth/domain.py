"""What differs between the `base` and the `shifted` domain: kinds, colours, textures, backdrops.

A model trained on `base` should meet something new in `shifted`: new kinds and parts, new
textures, other RGB values for the colour names it knows (and a few new names), and a different
background (radial, saturated, blotchy noise instead of a grey linear gradient with fine noise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from miras.errors import ConfigError

RGB = tuple[int, int, int]

DOMAIN_NAMES: tuple[str, ...] = ("base", "shifted")

SIZE_NAMES: tuple[str, ...] = ("small", "medium", "large")

# Object "radius" per size class, as a share of the image side; 1.35x steps keep classes apart.
SIZE_RADIUS: Mapping[str, float] = {"small": 0.085, "medium": 0.115, "large": 0.155}

SHAPE_KINDS: tuple[str, ...] = ("circle", "square", "triangle", "ring", "star")
THING_KINDS: tuple[str, ...] = ("mug", "house", "lamp", "tree", "flag")
SHIFTED_SHAPE_KINDS: tuple[str, ...] = ("hexagon", "cross")
SHIFTED_THING_KINDS: tuple[str, ...] = ("umbrella", "car", "bottle")


@dataclass(frozen=True)
class Domain:
    """The distributions one domain draws scenes from."""

    name: str
    colours: Mapping[str, RGB]
    kinds: tuple[str, ...]
    kind_weights: tuple[float, ...]
    textures: tuple[str, ...]
    texture_weights: tuple[float, ...]
    background: str  # "linear" or "radial" gradient
    background_saturation: float  # 0 = grey gradient ends, 1 = fully coloured
    noise: str  # "fine" (per-pixel grain) or "blotchy" (grain + blocky blotches behind objects)
    noise_sigma: float


BASE_COLOURS: Mapping[str, RGB] = {
    "red": (215, 38, 38),
    "green": (40, 165, 60),
    "blue": (40, 85, 215),
    "yellow": (235, 210, 40),
    "orange": (245, 135, 25),
    "purple": (135, 55, 185),
    "pink": (240, 125, 185),
    "cyan": (40, 200, 215),
}

# Same names, other values (muted or darker), plus three names base never uses.
SHIFTED_COLOURS: Mapping[str, RGB] = {
    "red": (170, 30, 60),
    "green": (95, 150, 45),
    "blue": (30, 50, 150),
    "yellow": (215, 185, 90),
    "orange": (210, 105, 50),
    "purple": (95, 40, 120),
    "pink": (215, 150, 170),
    "cyan": (90, 175, 170),
    "brown": (120, 75, 35),
    "teal": (0, 120, 120),
    "black": (28, 28, 32),
}


def _weights(kinds_and_weights: Mapping[str, float]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    total = sum(kinds_and_weights.values())
    return tuple(kinds_and_weights), tuple(w / total for w in kinds_and_weights.values())


def _base() -> Domain:
    kinds, weights = _weights({k: 1.0 for k in SHAPE_KINDS + THING_KINDS})
    return Domain(
        name="base",
        colours=BASE_COLOURS,
        kinds=kinds,
        kind_weights=weights,
        textures=("plain", "striped", "dotted"),
        texture_weights=(0.5, 0.25, 0.25),
        background="linear",
        background_saturation=0.15,
        noise="fine",
        noise_sigma=7.0,
    )


def _shifted() -> Domain:
    # New kinds are drawn twice as often as known ones, so the shift is felt in every scene.
    new = SHIFTED_SHAPE_KINDS + SHIFTED_THING_KINDS
    kinds, weights = _weights({k: 1.0 for k in SHAPE_KINDS + THING_KINDS} | {k: 2.0 for k in new})
    return Domain(
        name="shifted",
        colours=SHIFTED_COLOURS,
        kinds=kinds,
        kind_weights=weights,
        textures=("plain", "striped", "dotted", "checked", "wavy"),
        texture_weights=(0.3, 0.1, 0.1, 0.25, 0.25),
        background="radial",
        background_saturation=0.45,
        noise="blotchy",
        noise_sigma=9.0,
    )


DOMAINS: Mapping[str, Domain] = {"base": _base(), "shifted": _shifted()}


def get_domain(name: str) -> Domain:
    """The domain called `name`; a ConfigError names the known ones otherwise."""
    try:
        return DOMAINS[name]
    except KeyError:
        raise ConfigError(
            f"unknown domain {name!r}; use one of {', '.join(DOMAIN_NAMES)}"
        ) from None
