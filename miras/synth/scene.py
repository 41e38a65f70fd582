"""A scene: 3-5 objects placed in painter's order over a noisy gradient, and its exact masks.

Every pixel belongs to the last part painted over it (an `owner` map), so the visible mask of a
part is exact: later objects hide what they cover. Placement is retried until every part keeps a
given share of its pixels, so that occlusion stays partial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from miras.synth.domain import RGB, SIZE_NAMES, SIZE_RADIUS, Domain
from miras.synth.shapes import EXTENT, KINDS, Grid, Mask, draw_kind, grid
from miras.synth.texture import background, noise, texture_pattern

MIN_OBJECTS, MAX_OBJECTS = 3, 5
MIN_VISIBLE_SHARE = 0.6  # of a part's area, as first drawn, that later objects must leave
MIN_PART_PIXELS = 12  # at 128 px; scaled with the image area
TRIES_PER_OBJECT = 25
CONFUSER_SHARE = 0.3  # chance that a new object repeats the kind or colour of an earlier one

# Colours of parts that do not carry the object's colour; "shade"/"dark" scale it instead.
FIXED_TONES: dict[str, RGB] = {
    "wood": (115, 75, 40),
    "metal": (150, 150, 162),
    "glass": (190, 222, 236),
    "tyre": (34, 34, 36),
}
SCALED_TONES: dict[str, float] = {"main": 1.0, "shade": 0.75, "dark": 0.55}


@dataclass(frozen=True)
class SceneObject:
    """One object as drawn: its attributes and the visible mask of each of its parts."""

    index: int  # 1-based, in painting order
    kind: str
    colour: str
    size: str
    texture: str
    parts: tuple[str, ...]  # ("",) for a simple shape
    part_masks: tuple[Mask, ...] = field(repr=False)

    @property
    def is_thing(self) -> bool:
        """True when the object has named parts (a mug), False for a simple shape (a ring)."""
        return self.parts != ("",)

    @property
    def label(self) -> str:
        """The labelme label prefix: the id is zero-padded so that no id contains another."""
        return f"obj{self.index:02d} {self.colour} {self.kind}"

    def part_label(self, part: str) -> str:
        """The labelme label of one part ("" gives the whole-object label of a simple shape)."""
        return f"{self.label} {part}" if part else self.label

    def part_mask(self, part: str) -> Mask:
        return self.part_masks[self.parts.index(part)]

    @cached_property
    def mask(self) -> Mask:
        """The visible pixels of the whole object."""
        return np.logical_or.reduce(self.part_masks)

    @cached_property
    def area(self) -> int:
        return int(self.mask.sum())

    @cached_property
    def centroid(self) -> tuple[float, float]:
        """(x, y) of the visible pixels."""
        return mask_centroid(self.mask)


@dataclass(frozen=True)
class Scene:
    """A rendered image and the objects in it, in painting order."""

    image: np.ndarray = field(repr=False)  # uint8 (H, W, 3)
    objects: tuple[SceneObject, ...]
    domain: str

    @property
    def size(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class _Placement:
    kind: str
    colour: str
    size: str
    texture: str
    masks: list[Mask]


def mask_centroid(mask: Mask) -> tuple[float, float]:
    """(x, y) mean of the True pixels of a non-empty mask."""
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


def make_scene(rng: np.random.Generator, domain: Domain, size: int) -> Scene:
    """Draw a scene of 3-5 objects from `domain` at `size` x `size` pixels."""
    g = grid(size)
    owner = np.zeros((size, size), dtype=np.int16)  # 0: background, k: k-th part painted
    placements: list[_Placement] = []
    full_areas: list[int] = []
    min_pixels = max(6, round(MIN_PART_PIXELS * (size / 128) ** 2))
    wanted = int(rng.integers(MIN_OBJECTS, MAX_OBJECTS + 1))
    for _ in range(wanted):
        placed = _place_one(rng, domain, g, owner, placements, full_areas, min_pixels)
        if placed is None:
            break
        placements.append(placed)
    image = _paint(rng, domain, g, owner, placements)
    return Scene(image=image, objects=_objects(owner, placements), domain=domain.name)


def _place_one(
    rng: np.random.Generator,
    domain: Domain,
    g: Grid,
    owner: np.ndarray,
    placements: list[_Placement],
    full_areas: list[int],
    min_pixels: int,
) -> _Placement | None:
    """Add one object to `owner` where no part (old or new) loses too much; None if none fits."""
    for _ in range(TRIES_PER_OBJECT):
        kind, colour = _kind_and_colour(rng, domain, placements)
        size_name = SIZE_NAMES[int(rng.integers(len(SIZE_NAMES)))]
        texture = str(rng.choice(domain.textures, p=domain.texture_weights))
        r = SIZE_RADIUS[size_name] * g.shape[0]
        low, high = EXTENT * r + 1, g.shape[0] - 2 - EXTENT * r
        cx, cy = rng.uniform(low, high, size=2)
        flip = 1 if rng.random() < 0.5 else -1
        masks = draw_kind(kind, g, float(cx), float(cy), float(r), flip)
        trial = owner.copy()
        first_id = len(full_areas) + 1
        for offset, mask in enumerate(masks):
            trial[mask] = first_id + offset
        visible = np.bincount(trial.ravel(), minlength=first_id + len(masks))[1:]
        # Old parts keep most of what they showed; new parts are judged after covering each
        # other (the door is meant to hide some wall), so only their size is checked.
        kept = visible[: len(full_areas)] >= np.maximum(
            min_pixels, MIN_VISIBLE_SHARE * np.asarray(full_areas)
        )
        if np.all(kept) and np.all(visible[len(full_areas) :] >= min_pixels):
            owner[...] = trial
            full_areas.extend(int(v) for v in visible[len(full_areas) :])
            return _Placement(kind, colour, size_name, texture, masks)
    return None


def _kind_and_colour(
    rng: np.random.Generator, domain: Domain, placements: list[_Placement]
) -> tuple[str, str]:
    kind = str(rng.choice(domain.kinds, p=domain.kind_weights))
    colour = str(rng.choice(list(domain.colours)))
    if placements and rng.random() < CONFUSER_SHARE:
        # Repeat a kind or a colour already in the scene: dialogues then must narrow further.
        earlier = placements[int(rng.integers(len(placements)))]
        if rng.random() < 0.5:
            kind = earlier.kind
        else:
            colour = earlier.colour
    return kind, colour


def _objects(owner: np.ndarray, placements: list[_Placement]) -> tuple[SceneObject, ...]:
    objects, part_id = [], 1
    for index, placed in enumerate(placements, start=1):
        parts = KINDS[placed.kind].parts
        masks = tuple(owner == part_id + k for k in range(len(parts)))
        part_id += len(parts)
        objects.append(
            SceneObject(
                index, placed.kind, placed.colour, placed.size, placed.texture, parts, masks
            )
        )
    return tuple(objects)


def _paint(
    rng: np.random.Generator,
    domain: Domain,
    g: Grid,
    owner: np.ndarray,
    placements: list[_Placement],
) -> np.ndarray:
    image = background(rng, domain, g)
    part_id = 1
    for placed in placements:
        base = np.asarray(domain.colours[placed.colour], dtype=np.float32)
        for tone in KINDS[placed.kind].tones:
            where = owner == part_id
            part_id += 1
            if tone in FIXED_TONES:
                image[where] = FIXED_TONES[tone]
            elif tone == "main":
                image[where] = _textured(rng, placed.texture, base, g, where)
            else:
                image[where] = base * SCALED_TONES[tone]
    image += noise(rng, domain, g)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _textured(
    rng: np.random.Generator, texture: str, base: np.ndarray, g: Grid, where: Mask
) -> np.ndarray:
    """(N, 3) colours of the N pixels of `where`: `base`, patterned by `texture`."""
    pattern = texture_pattern(rng, texture, g.x[where], g.y[where], g.shape[0])
    if pattern is None:
        return base
    return np.where(pattern[:, None], _second_colour(base), base)


def _second_colour(base: np.ndarray) -> np.ndarray:
    """The pattern colour of a texture: lighter on dark colours, darker on light ones."""
    if base.mean() < 150:
        return base + 0.5 * (255 - base)
    return base * 0.6
