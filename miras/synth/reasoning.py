"""The reasoning tree of a scene: filters that split the objects, and paths that narrow to one.

The root holds every visible object; each filter (a colour, a kind, a texture, a size, a
function, a relation to an anchor object, a superlative) keeps the objects that pass it. A
dialogue walks one path from the root to its target, so every answer on the way is a true
statement about the scene. Geometry uses the visible masks: centroids for positions, pixel counts
for size, with margins so that no statement hangs on a pixel or two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from miras.synth.knowledge import functions_of
from miras.synth.scene import SceneObject

POSITION_MARGIN = 0.06  # of the image side: how far apart two centroids must be to compare
AREA_RATIO = 1.3  # how much larger the largest must be than the runner-up

ATTRIBUTES = ("colour", "kind", "texture", "size")
DIRECTIONS = ("left", "right", "above", "below")
EXTREMES = ("leftmost", "rightmost", "topmost", "lowest", "largest", "smallest")


@dataclass(frozen=True)
class Step:
    """One split of the tree: which candidates were asked about and which pass the filter."""

    filter: str  # an ATTRIBUTE, "function", "relation" or "extreme"
    value: str  # "red" / "mug" / "striped" / "large" / a function id / a DIRECTION / an EXTREME
    before: tuple[SceneObject, ...]
    after: tuple[SceneObject, ...]
    anchor: SceneObject | None = None  # the object a relation is measured from


def attribute(obj: SceneObject, name: str) -> str:
    return str(getattr(obj, name))


def directional_offset(obj: SceneObject, anchor: SceneObject, direction: str) -> float:
    """How far `obj` lies in `direction` from `anchor`, centroid to centroid (pixels)."""
    (x, y), (ax, ay) = obj.centroid, anchor.centroid
    return {"left": ax - x, "right": x - ax, "above": ay - y, "below": y - ay}[direction]


def extreme_score(obj: SceneObject, extreme: str) -> float:
    """Larger is more extreme; areas are compared on a log scale so that margins are ratios."""
    x, y = obj.centroid
    return {
        "leftmost": -x,
        "rightmost": x,
        "topmost": -y,
        "lowest": y,
        "largest": float(np.log(obj.area)),
        "smallest": -float(np.log(obj.area)),
    }[extreme]


def extreme_margin(extreme: str, image_size: int) -> float:
    if extreme in ("largest", "smallest"):
        return float(np.log(AREA_RATIO))
    return POSITION_MARGIN * image_size


def relation_step(
    candidates: Sequence[SceneObject], anchor: SceneObject, direction: str, image_size: int
) -> Step | None:
    """The candidates clearly `direction` of `anchor`; None if any is too close to call."""
    margin = POSITION_MARGIN * image_size
    passing = []
    for obj in candidates:
        if obj is anchor:
            continue
        offset = directional_offset(obj, anchor, direction)
        if abs(offset) < margin:
            return None
        if offset > 0:
            passing.append(obj)
    return Step("relation", direction, tuple(candidates), tuple(passing), anchor)


def extreme_step(candidates: Sequence[SceneObject], extreme: str, image_size: int) -> Step | None:
    """The one candidate that is `extreme` by a clear margin over the runner-up, else None."""
    if len(candidates) < 2:
        return None
    ranked = sorted(candidates, key=lambda o: extreme_score(o, extreme), reverse=True)
    gap = extreme_score(ranked[0], extreme) - extreme_score(ranked[1], extreme)
    if gap < extreme_margin(extreme, image_size):
        return None
    return Step("extreme", extreme, tuple(candidates), (ranked[0],))


def narrowing_steps(
    target: SceneObject,
    candidates: Sequence[SceneObject],
    objects: Sequence[SceneObject],
    image_size: int,
    anchors: dict[int, str],
) -> list[Step]:
    """Every filter that keeps `target` and drops at least one other candidate.

    `anchors` maps the index of each object that has a unique description (so it can serve as
    the reference of a relation) to that description.
    """
    before = tuple(candidates)
    steps = []
    for name in ATTRIBUTES:
        value = attribute(target, name)
        after = tuple(o for o in before if attribute(o, name) == value)
        steps.append(Step(name, value, before, after))
    for function in functions_of(target.kind):
        after = tuple(o for o in before if function in functions_of(o.kind))
        steps.append(Step("function", function, before, after))
    for anchor in objects:
        if anchor is target or anchor.index not in anchors:
            continue
        for direction in DIRECTIONS:
            step = relation_step(before, anchor, direction, image_size)
            if step is not None:
                steps.append(step)
    for extreme in EXTREMES:
        step = extreme_step(before, extreme, image_size)
        if step is not None:
            steps.append(step)
    return [s for s in steps if target in s.after and len(s.after) < len(before)]


def unique_description(obj: SceneObject, objects: Sequence[SceneObject]) -> str | None:
    """The shortest "size texture colour kind" phrase (no article) that fits `obj` alone.

    Colour and kind are always named (the answer's class phrase then carries the colour); None
    when even all four attributes do not single the object out.
    """
    for extra in ((), ("size",), ("texture",), ("size", "texture")):
        names = {"colour", "kind", *extra}
        if sum(all(attribute(o, n) == attribute(obj, n) for n in names) for o in objects) == 1:
            return describe(obj, names)
    return None


def referring_phrase(
    obj: SceneObject, objects: Sequence[SceneObject], image_size: int
) -> str | None:
    """A phrase that singles `obj` out: its unique description, else a superlative among its
    look-alikes ("leftmost red circle"); None when neither works."""
    phrase = unique_description(obj, objects)
    if phrase is not None:
        return phrase
    twins = [o for o in objects if (o.colour, o.kind) == (obj.colour, obj.kind)]
    for extreme in EXTREMES:
        step = extreme_step(twins, extreme, image_size)
        if step is not None and step.after == (obj,):
            return f"{extreme} {obj.colour} {obj.kind}"
    return None


def describe(obj: SceneObject, names: set[str]) -> str:
    """The phrase of the chosen attributes, in the order English puts them."""
    words = []
    if "size" in names:
        words.append(obj.size)
    if "texture" in names:
        words.append(obj.texture)
    if "colour" in names:
        words.append(obj.colour)
    words.append(obj.kind)
    return " ".join(words)


def describable(objects: Sequence[SceneObject]) -> dict[int, str]:
    """Index -> unique description of every object that has one."""
    found = {}
    for obj in objects:
        phrase = unique_description(obj, objects)
        if phrase is not None:
            found[obj.index] = phrase
    return found
