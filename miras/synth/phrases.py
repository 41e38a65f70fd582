"""Small pieces of English: articles, plurals, lists, numbers, where things are.

Every phrase about a position is computed from the visible masks, so it is true in the image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from miras.synth.scene import SceneObject, mask_centroid

NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
PLURAL_PARTS = frozenset({"walls", "wheels"})
SIZE_WORDS = {"small": "small", "medium": "medium-sized", "large": "large"}


def pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    """One of `options`, drawn from `rng`."""
    return options[int(rng.integers(len(options)))]


def article(phrase: str) -> str:
    """`phrase` with "a" or "an" in front."""
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def plural(kind: str) -> str:
    return f"{kind}es" if kind.endswith(("s", "x", "sh", "ch")) else f"{kind}s"


def number(n: int) -> str:
    return NUMBERS[n] if n < len(NUMBERS) else str(n)


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def join(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def is_are(n: int) -> str:
    return "is" if n == 1 else "are"


def part_is(part: str) -> str:
    return "are" if part in PLURAL_PARTS else "is"


def region(obj: SceneObject, image_size: int) -> str:
    """Where the object's centroid falls in a 3 x 3 split of the image ("in the top left")."""
    x, y = obj.centroid
    col = ("left", "", "right")[min(int(3 * x / image_size), 2)]
    row = ("top", "", "bottom")[min(int(3 * y / image_size), 2)]
    if row and col:
        return f"in the {row} {col}"
    if row or col:
        return f"on the {row or col}" if col else f"at the {row}"
    return "near the centre"


def some(part: str) -> str:
    """ "a handle", but "walls": the part with the article it takes."""
    return part if part in PLURAL_PARTS else article(part)


def part_side(obj: SceneObject, part: str) -> str:
    """Where a part sits against the rest of its object ("on its right side"), by centroids."""
    rest = [m for p, m in zip(obj.parts, obj.part_masks, strict=True) if p != part]
    px, py = mask_centroid(obj.part_mask(part))
    ox, oy = mask_centroid(np.logical_or.reduce(rest))
    dx, dy = px - ox, py - oy
    if max(abs(dx), abs(dy)) < 1.5:
        return "in its middle"
    if abs(dx) > abs(dy):
        return "on its right side" if dx > 0 else "on its left side"
    return "at its bottom" if dy > 0 else "at its top"


def looks(obj: SceneObject, with_size: bool = False) -> str:
    """ "large striped red mug": a patterned texture and (if asked) the size, then colour, kind."""
    words = [SIZE_WORDS[obj.size]] if with_size else []
    if obj.texture != "plain":
        words.append(obj.texture)
    return " ".join([*words, obj.colour, obj.kind])
