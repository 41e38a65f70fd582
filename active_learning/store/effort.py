"""Effort figures of a correction: how far the annotator had to move the model's mask."""

from __future__ import annotations

import numpy as np


def dice(proposal: np.ndarray, correction: np.ndarray) -> float:
    """Dice(proposal, correction > 0); 1.0 when both are empty (nothing to fix)."""
    truth = correction > 0
    total = int(np.count_nonzero(proposal)) + int(np.count_nonzero(truth))
    if total == 0:
        return 1.0
    return 2.0 * int(np.count_nonzero(proposal & truth)) / total


def pixels_changed(proposal: np.ndarray, correction: np.ndarray) -> int:
    """Pixels whose foreground/background state the annotator flipped."""
    return int(np.count_nonzero(proposal != (correction > 0)))


def effort(
    proposal: np.ndarray | None,
    correction: np.ndarray,
    *,
    seconds: float | None,
    turns: int | None,
) -> dict[str, float | int | None]:
    """The attrs stored with a correction; mask figures are None without a proposal (imports)."""
    return {
        "dice": None if proposal is None else dice(proposal, correction),
        "pixels_changed": None if proposal is None else pixels_changed(proposal, correction),
        "turns": turns,
        "seconds": seconds,
    }
