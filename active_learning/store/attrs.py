"""A sample's attrs: the metadata stored in samples/<id>/zarr.json, as JSON.

    image_id, dialogue, focus, status, model_version, score, annotator, created, updated,
    shape [H, W], has_proposal, has_correction, meta {...},
    dice, pixels_changed, turns, seconds          (effort figures; None until corrected)
    complete                                      (true once the sample is whole; written last)
    pending                                       ("correction" while a correction is replaced)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np

from active_learning.errors import SampleDataError
from active_learning.store import validate
from active_learning.store.status import INITIAL

EFFORT_KEYS = ("dice", "pixels_changed", "turns", "seconds")


def now() -> str:
    """UTC time as ISO 8601 with milliseconds, e.g. 2025-05-01T12:00:00.123Z."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(stamp: object) -> float | None:
    """Unix seconds of a now() stamp; None if it is not one."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def check_masks(
    status: str, proposal: object, correction: object, shape: tuple[int, int]
) -> dict[str, np.ndarray | None]:
    """The validated masks of a new sample; the one its initial status needs must be there."""
    masks = {
        "proposal": validate.check_proposal(proposal, shape),
        "correction": validate.check_correction(correction, shape),
    }
    needed = INITIAL[status]
    if masks[needed] is None:
        raise SampleDataError(f"a sample added as {status!r} needs a {needed} mask")
    return masks


def new_sample_attrs(
    *,
    status: str,
    shape: tuple[int, int],
    masks: dict[str, np.ndarray | None],
    dialogue: object,
    focus: object,
    model_version: object,
    score: object,
    annotator: object,
    meta: object,
) -> dict[str, Any]:
    """Validated attrs of a new sample, without image_id, effort figures None."""
    stamp = now()
    return {
        "dialogue": validate.check_dialogue(dialogue),
        "focus": validate.check_text(focus, "focus", optional=False),
        "status": status,
        "model_version": validate.check_text(model_version, "model_version"),
        "score": validate.check_number(score, "score"),
        "annotator": validate.check_text(annotator, "annotator"),
        "created": stamp,
        "updated": stamp,
        "shape": list(shape),
        "has_proposal": masks["proposal"] is not None,
        "has_correction": masks["correction"] is not None,
        "meta": validate.check_meta(meta),
        **dict.fromkeys(EFFORT_KEYS),
    }


def rolled_back(attrs: dict[str, Any]) -> dict[str, Any]:
    """The attrs of a sample whose interrupted re-correction is undone: back to its proposal."""
    attrs = {k: v for k, v in attrs.items() if k != "pending"}
    attrs.update(dict.fromkeys(EFFORT_KEYS), status="proposed", has_correction=False,
                 updated=now(), complete=True)
    return attrs


def can_roll_back(attrs: dict[str, Any] | None) -> bool:
    """A re-correction crashed with the proposal intact, so the sample can return to it."""
    return (
        attrs is not None
        and attrs.get("pending") == "correction"
        and bool(attrs.get("has_proposal"))
    )


def is_complete(attrs: dict[str, Any] | None) -> bool:
    return attrs is not None and attrs.get("complete") is True
