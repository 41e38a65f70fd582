"""Checks on what callers hand to the store, done before anything is written.

Every check either returns the value in the form the store writes, or raises SampleDataError
(ShapeMismatchError for masks) whose message says how to fix the input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from active_learning.errors import SampleDataError, ShapeMismatchError

IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32))
ROLES = ("human", "gpt")


def check_image(image: object) -> np.ndarray:
    """An (H, W), (H, W, 3) or (H, W, 4) array of uint8, uint16 or float32, native byte order."""
    if not isinstance(image, np.ndarray):
        raise SampleDataError(
            f"image must be a numpy array, got {type(image).__name__}; pass np.asarray(image)"
        )
    shape_ok = image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))
    if not shape_ok or 0 in image.shape:
        raise SampleDataError(
            f"image has shape {image.shape}; expected (H, W), (H, W, 3) or (H, W, 4) with H, W > 0"
        )
    # Compare by kind and size, so that a big-endian array is accepted and stored native.
    native = image.dtype.newbyteorder("=")
    if native not in IMAGE_DTYPES:
        raise SampleDataError(
            f"image dtype {image.dtype} is not supported; convert it with image.astype(np.uint8), "
            "np.uint16 or np.float32"
        )
    return np.ascontiguousarray(image, dtype=native)


def check_proposal(mask: object, shape: tuple[int, int]) -> np.ndarray | None:
    """The model's mask as bool; integer masks count nonzero pixels as foreground."""
    if mask is None:
        return None
    mask = _as_2d(mask, shape, "proposal")
    if mask.dtype == bool:
        return mask
    if np.issubdtype(mask.dtype, np.integer):
        return mask != 0
    raise SampleDataError(
        f"proposal has dtype {mask.dtype}; pass a bool mask (threshold probabilities first, "
        "e.g. probs > 0.5)"
    )


def check_correction(mask: object, shape: tuple[int, int]) -> np.ndarray | None:
    """The annotator's mask as uint8 labels (0 = background); bool masks become 0/1."""
    if mask is None:
        return None
    mask = _as_2d(mask, shape, "correction")
    if mask.dtype == bool or mask.dtype == np.uint8:
        return mask.astype(np.uint8, copy=False)
    if np.issubdtype(mask.dtype, np.integer):
        low, high = int(mask.min()), int(mask.max())
        if low < 0 or high > 255:
            raise SampleDataError(
                f"correction labels must lie in 0..255, got {low}..{high}; relabel the mask"
            )
        return mask.astype(np.uint8)
    raise SampleDataError(
        f"correction has dtype {mask.dtype}; pass integer labels (uint8) or a bool mask"
    )


def _as_2d(mask: object, shape: tuple[int, int], name: str) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise ShapeMismatchError(
            f"{name} has shape {mask.shape} but the image is {tuple(shape)} (H, W); "
            "give a mask at the image's size (a Labels layer of the same image, or resize it)"
        )
    return mask


def check_dialogue(dialogue: object) -> list[dict[str, str]]:
    """A list of {"from": "human" | "gpt", "value": str} turns (the PRIST format)."""
    if isinstance(dialogue, (str, bytes)) or not isinstance(dialogue, Sequence):
        raise SampleDataError(
            'dialogue must be a list of {"from": "human"|"gpt", "value": str} turns, got '
            f"{type(dialogue).__name__}"
        )
    return [_check_turn(i, turn) for i, turn in enumerate(dialogue)]


def _check_turn(index: int, turn: object) -> dict[str, str]:
    if not isinstance(turn, dict) or set(turn) != {"from", "value"}:
        raise SampleDataError(
            f'dialogue turn {index} must be a dict with exactly the keys "from" and "value", '
            f"got {turn!r}"
        )
    if turn["from"] not in ROLES or not isinstance(turn["value"], str):
        raise SampleDataError(
            f'dialogue turn {index}: "from" must be "human" or "gpt" and "value" a str, '
            f"got {turn!r}"
        )
    return {"from": turn["from"], "value": turn["value"]}


def check_text(value: object, name: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise SampleDataError(f"{name} must be a str, got {type(value).__name__}: {value!r}")
    return value


def check_number(value: object, name: str) -> float | None:
    """A finite float or None: the attrs are JSON, which has no NaN or infinity."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise SampleDataError(f"{name} must be a number or None, got {value!r}")
    if not math.isfinite(float(value)):
        raise SampleDataError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_count(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise SampleDataError(f"{name} must be a non-negative int or None, got {value!r}")
    return int(value)


def check_seconds(value: object) -> float | None:
    seconds = check_number(value, "seconds")
    if seconds is not None and seconds < 0:
        raise SampleDataError(f"seconds must not be negative, got {value!r}")
    return seconds


def check_meta(meta: object) -> dict[str, Any]:
    """Free-form extra metadata (e.g. the PRIST img_id): a JSON-serialisable dict."""
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise SampleDataError(f"meta must be a dict or None, got {type(meta).__name__}")
    try:
        return json.loads(json.dumps(meta, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise SampleDataError(f"meta must be JSON-serialisable: {err}") from err
