"""Learning-rate schedule: linear warm-up, then cosine or linear decay."""

from __future__ import annotations

import math

from miras.training.settings import TrainSettings


def lr_factor(step: int, settings: TrainSettings) -> float:
    """Multiplier of the base learning rate at optimiser step `step` (0-based)."""
    return warmup_decay(step, settings.warmup_steps, settings.max_steps, settings.min_lr_ratio, settings.schedule)


def warmup_decay(step: int, warmup: int, total: int, floor: float = 0.0, schedule: str = "cosine") -> float:
    """Linear warm-up over `warmup` steps, then cosine or linear decay to `floor` at `total`."""
    if warmup and step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if schedule == "linear":
        return floor + (1 - floor) * (1 - progress)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
