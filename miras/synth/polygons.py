"""Exact visible masks -> labelme polygons that `miras.prist.focus_mask` redraws exactly.

labelme polygons cannot have holes (a ring's outline filled is a disc), so a mask with holes is
first cut into pieces without holes; every piece is then traced by `miras.prist.mask_to_shapes`,
whose vertices sit on boundary pixel centres.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import binary_fill_holes
from skimage.measure import label as label_components

from miras.prist import mask_to_shapes
from miras.synth.scene import Scene

# 0 keeps every traced vertex: the outline is exact; 0.5 px would halve the points but can
# shave a corner pixel, which matters for parts a few pixels wide.
TOLERANCE = 0.0


def hole_free_pieces(mask: np.ndarray) -> list[np.ndarray]:
    """Split `mask` into masks whose union is `mask` and none of which has a hole.

    A component with a hole is cut at the column of its first hole pixel: both halves then open
    that hole to the outside, so each cut removes a hole and the recursion ends.
    """
    pieces = []
    components = label_components(mask, connectivity=2)
    for k in range(1, int(components.max()) + 1):
        component = components == k
        holes = binary_fill_holes(component) & ~component
        if not holes.any():
            pieces.append(component)
            continue
        cut = int(np.argwhere(holes)[0, 1])
        left, right = component.copy(), component.copy()
        left[:, cut:] = False
        right[:, :cut] = False
        pieces.extend(hole_free_pieces(left))
        pieces.extend(hole_free_pieces(right))
    return pieces


def shapes_of_mask(mask: np.ndarray, label: str, **extra: Any) -> list[dict[str, Any]]:
    """labelme polygon shapes (with `extra` keys, e.g. group_id) that redraw `mask` exactly."""
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return []
    # Work in the bounding box (1 px margin): tracing a 20 px part on a 512 px canvas is waste.
    top, left = max(rows.min() - 1, 0), max(cols.min() - 1, 0)
    box = mask[top : rows.max() + 2, left : cols.max() + 2]
    shapes = []
    for piece in hole_free_pieces(box):
        for shape in mask_to_shapes(piece, label, tolerance=TOLERANCE):
            points = drop_collinear(np.asarray(shape["points"], dtype=np.float64)) + (left, top)
            shapes.append({**shape, "points": closed_polygon(points.tolist()), **extra})
    return shapes


def drop_collinear(points: np.ndarray) -> np.ndarray:
    """Only the (N, 2) vertices where the outline turns: the others lie on the straight edges
    between them, so the polygon (and its drawing) stays the same with a fraction of the points."""
    if len(points) < 4:
        return points
    arriving = points - np.roll(points, 1, axis=0)
    leaving = np.roll(points, -1, axis=0) - points
    turns = points[np.any(arriving != leaving, axis=1)]
    return turns if len(turns) >= 2 else points


def closed_polygon(points: list[list[float]]) -> list[list[float]]:
    """A piece of one or two pixels traces to one or two vertices, which polygon drawers
    (skimage's polygon_perimeter among them) reject; going back over them keeps the pixels."""
    if len(points) == 1:
        return points * 3
    if len(points) == 2:
        return [*points, points[0]]
    return points


def scene_shapes(scene: Scene) -> list[dict[str, Any]]:
    """The labelme shapes of every visible part of every object, labelled for focus look-up."""
    shapes = []
    for obj in scene.objects:
        description = f"{obj.size} {obj.texture}"
        for part, mask in zip(obj.parts, obj.part_masks, strict=True):
            label = obj.part_label(part)
            shapes.extend(shapes_of_mask(mask, label, group_id=obj.index, description=description))
    return shapes
