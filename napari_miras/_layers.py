"""Between napari layers and what the model sees: the displayed plane in, masks out.

An image layer may be gray (H, W), colour (H, W, 3|4, `rgb=True`), a stack (..., H, W) or
multiscale; the model always gets the one (H, W[, C]) plane on screen, at full resolution. Its
masks go into a Labels layer of the image's spatial shape (the whole stack for a stack):
`make_stroke` turns them into label ids off the GUI thread (they can be image-sized), and `paint`
writes those into the layer as one undo step, so that Ctrl+Z takes back a whole reply at once.

napari is imported only for type checking: these helpers take layers as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from napari.components import Dims
    from napari.layers import Image, Labels

# What the store accepts (active_learning validates the same list); others are converted.
_STORABLE = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))
LABELS_DTYPE = np.uint8  # corrections are stored as uint8 labels (0..255)


class PlaneError(ValueError):
    """The viewer does not show one image plane the model can read; the message says why."""


def unwrap(obj: Any) -> Any:
    """The object behind napari's plugin proxy, for identity checks.

    napari hands plugins its viewer wrapped in a proxy that wraps every object read through it
    anew, so `viewer.layers[0] is viewer.layers[0]` is False there; compare unwrapped objects.
    """
    return getattr(obj, "__wrapped__", obj)


def holds(layers, layer: Any) -> bool:
    """Whether `layer` is (still) one of `layers`, by identity through the proxy."""
    layer = unwrap(layer)
    return any(unwrap(other) is layer for other in layers)


def digest(data: Any) -> str:
    """A fingerprint of labels data: tells whether a layer changed since it was saved."""
    import hashlib

    array = np.ascontiguousarray(data)
    found = hashlib.blake2b(f"{array.shape}{array.dtype}".encode(), digest_size=16)
    found.update(memoryview(array).cast("B"))
    return found.hexdigest()


def base_data(layer: Image) -> Any:
    """The full-resolution array of a layer (level 0 of a multiscale pyramid)."""
    return layer.data[0] if layer.multiscale else layer.data


def spatial_shape(layer: Image) -> tuple[int, ...]:
    """The layer's shape without its colour axis: (..., H, W)."""
    shape = tuple(base_data(layer).shape)
    return shape[:-1] if layer.rgb else shape


def plane_index(layer: Image, dims: Dims) -> tuple[int, ...]:
    """Index of the displayed (H, W) plane in the leading axes of `layer`; () for a 2D image.

    Goes through world coordinates (`layer.world_to_data`), so a stack with a scale or offset,
    or a viewer holding layers of different dimensionality, still gives the plane on screen.
    """
    shape = spatial_shape(layer)
    if len(shape) == 2:
        return ()
    if dims.ndisplay != 2:
        raise PlaneError(
            "the viewer shows 3D; MIRAS reads one 2D plane: switch to 2D view (the square "
            "button at the bottom left) and choose the plane with the sliders"
        )
    if tuple(dims.displayed) != (dims.ndim - 2, dims.ndim - 1):
        raise PlaneError(
            "the displayed axes are not the last two of the image; MIRAS reads (..., Y, X) "
            "planes: reset the axis order (Ctrl+click the roll button or transpose back)"
        )
    point = layer.world_to_data(dims.point)[:-2]
    return tuple(int(np.clip(np.round(p), 0, n - 1)) for p, n in zip(point, shape[:-2]))


def read_plane(layer: Image, index: Sequence[int]) -> np.ndarray:
    """The pixels of one plane as a numpy array ((H, W) or (H, W, C)); reads lazy data too."""
    return np.asarray(base_data(layer)[tuple(index)])


def storable(image: np.ndarray) -> np.ndarray:
    """The plane in a dtype the correction store takes (uint8, uint16, float32), values kept."""
    if image.dtype in _STORABLE:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8)
    if np.issubdtype(image.dtype, np.integer) and image.size:
        low, high = int(image.min()), int(image.max())
        if low >= 0 and high <= np.iinfo(np.uint16).max:
            return image.astype(np.uint16)
    return image.astype(np.float32)


def placement(layer: Image) -> dict[str, Any]:
    """Keyword arguments that put a new layer exactly over `layer` (scale, offset, rotation...)."""
    return {
        "scale": layer.scale,
        "translate": layer.translate,
        "rotate": layer.rotate,
        "shear": layer.shear,
        "affine": layer.affine,
    }


def empty_labels(layer: Image) -> np.ndarray:
    """Zeros of the image's spatial shape, to hold a conversation's masks."""
    return np.zeros(spatial_shape(layer), dtype=LABELS_DTYPE)


@dataclass(frozen=True)
class Stroke:
    """A reply's masks as label ids over their bounding box in the plane (see `make_stroke`)."""

    box: tuple[slice, slice]
    ids: np.ndarray  # the label id of each pixel of `box`; 0 where no mask is


def make_stroke(
    plane_shape: Sequence[int], masks: Sequence[np.ndarray], first_id: int
) -> Stroke | None:
    """The masks with ids `first_id`, `first_id + 1`, ...; None if every mask is empty.

    Touches every pixel: call it off the GUI thread. Later masks win where masks overlap (the
    later [SEG] is the model's more specific answer).
    """
    plane_shape = tuple(plane_shape)
    ids = np.zeros(plane_shape, dtype=LABELS_DTYPE)
    for label_id, mask in enumerate(masks, start=first_id):
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != plane_shape:
            raise ValueError(
                f"a mask has shape {mask.shape} but the image plane is {plane_shape}; the "
                "model must return masks at the input image's size"
            )
        ids[mask] = label_id
    rows, cols = np.flatnonzero(ids.any(axis=1)), np.flatnonzero(ids.any(axis=0))
    if rows.size == 0:
        return None
    box = (slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1))
    return Stroke(box, ids[box].copy())


def paint(labels: Labels, index: Sequence[int], stroke: Stroke) -> None:
    """Write a stroke into plane `index` of `labels` as one undo step, keeping other pixels.

    Cheap enough for the GUI thread: whole-box copies, where `Labels.data_setitem` would index
    the layer pixel by pixel (seconds for an image-sized mask).
    """
    key = (*index, *stroke.box)
    before = np.array(labels.data[key], copy=True)
    # An empty box (a new layer) takes the ids as they are; else the user's edits stay around.
    after = np.where(stroke.ids != 0, stroke.ids, before) if before.any() else stroke.ids
    labels.data[key] = after
    # The history atom `data_setitem` saves, with a box for its index: undo and redo write the
    # box back. napari has no public call for it.
    labels._save_history((key, before, after))
    labels.refresh()


def labels_plane(data: Any, index: Sequence[int], name: str = "the labels") -> np.ndarray:
    """A copy of one plane of labels data, as uint8 labels (what the store keeps)."""
    plane = np.array(data[tuple(index)], copy=True)
    if plane.dtype == LABELS_DTYPE:
        return plane
    if plane.size and (plane.min() < 0 or plane.max() > 255):
        raise ValueError(
            f"{name} use label {int(plane.max())}; the store keeps labels 0..255: relabel them"
        )
    return plane.astype(LABELS_DTYPE)


def planes_with_labels(data: Any, index: Sequence[int]) -> list[tuple[int, ...]]:
    """The planes of a stack's labels, other than plane `index`, that hold any label.

    A conversation paints only its own plane, so labels elsewhere are the annotator's edits,
    which saving that plane does not keep. Reads the whole stack: call it off the GUI thread.
    """
    if not index:
        return []  # a 2D layer has no other plane
    array = np.asarray(data)
    painted = array.reshape(*array.shape[: len(index)], -1).any(axis=-1)
    painted[tuple(index)] = False
    return [tuple(int(i) for i in plane) for plane in np.argwhere(painted)]


def color_hex(labels: Labels, label_id: int) -> str:
    """The colour napari draws `label_id` with in `labels`, as #rrggbb for HTML."""
    rgba = labels.get_color(label_id)
    if rgba is None:
        return "#808080"
    r, g, b = (int(round(float(c) * 255)) for c in np.asarray(rgba)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"
