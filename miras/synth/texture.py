"""Pixels that are not geometry: gradient backgrounds, grain, and the patterns of textures."""

from __future__ import annotations

import numpy as np

from miras.synth.domain import Domain
from miras.synth.shapes import Grid

BLOTCH_CELL = 16  # pixels per cell of the low-frequency noise of the shifted domain


def background(rng: np.random.Generator, domain: Domain, g: Grid) -> np.ndarray:
    """Float32 (H, W, 3): a gradient between two muted colours (linear or radial per domain),
    with blocky low-frequency blotches where the domain asks for them."""
    size = g.shape[0]
    start, end = _muted_colour(rng, domain), _muted_colour(rng, domain)
    if domain.background == "radial":
        cx, cy = rng.uniform(0, size, size=2)
        t = np.sqrt((g.x - cx) ** 2 + (g.y - cy) ** 2) / (size * np.sqrt(2))
    else:
        angle = rng.uniform(0, 2 * np.pi)
        t = (g.x * np.cos(angle) + g.y * np.sin(angle)) / (size * np.sqrt(2)) + 0.5
    t = np.clip(t, 0.0, 1.0)[..., None]
    pixels = (start + t * (end - start)).astype(np.float32)
    if domain.noise == "blotchy":
        pixels += _blotches(rng, domain, g)
    return pixels


def _muted_colour(rng: np.random.Generator, domain: Domain) -> np.ndarray:
    level = rng.uniform(70, 190)
    tint = rng.uniform(-70, 70, size=3) * domain.background_saturation
    return np.clip(level + tint, 0, 255).astype(np.float32)


def _blotches(rng: np.random.Generator, domain: Domain, g: Grid) -> np.ndarray:
    h, w = g.shape
    cells = (h + BLOTCH_CELL - 1) // BLOTCH_CELL, (w + BLOTCH_CELL - 1) // BLOTCH_CELL
    coarse = rng.standard_normal((*cells, 3), dtype=np.float32) * domain.noise_sigma
    return coarse.repeat(BLOTCH_CELL, axis=0).repeat(BLOTCH_CELL, axis=1)[:h, :w]


def noise(rng: np.random.Generator, domain: Domain, g: Grid) -> np.ndarray:
    """Float32 (H, W, 3) zero-mean per-pixel grain, laid over objects and background alike."""
    return rng.standard_normal((*g.shape, 3), dtype=np.float32) * domain.noise_sigma


def texture_pattern(
    rng: np.random.Generator, texture: str, x: np.ndarray, y: np.ndarray, image_size: int
) -> np.ndarray | None:
    """Which of the pixels at (x, y) take the second colour of `texture`; None when plain."""
    period = rng.uniform(4.0, 6.5) * max(image_size / 128, 0.5)
    phase_x, phase_y = rng.uniform(0, period, size=2)
    x, y = x + phase_x, y + phase_y
    if texture == "plain":
        return None
    if texture == "striped":
        angle = rng.choice([0.0, 0.25, 0.5, 0.75]) * np.pi
        return (x * np.cos(angle) + y * np.sin(angle)) % period < period / 2
    if texture == "dotted":
        spacing = period + 1.5
        dx, dy = x % spacing - spacing / 2, y % spacing - spacing / 2
        return dx * dx + dy * dy <= (0.3 * spacing) ** 2
    if texture == "checked":
        return (np.floor(x / period) + np.floor(y / period)) % 2 == 1
    if texture == "wavy":
        return (y + 1.5 * np.sin(x * (np.pi / period))) % period < period / 2
    raise ValueError(f"unknown texture {texture!r}")
