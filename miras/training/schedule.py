"""Learning-rate schedule: linear warm-up, then cosine or linear decay."""

from __future__ import annotations

import math

from miras.training.settings import TrainSettings


def lr_factor(step: int, settings: TrainSettings) -> float:
    """Multiplier of the base learning rate at optimiser step `step` (0-based)."""
    if settings.warmup_steps and step < settings.warmup_steps:
        return (step + 1) / settings.warmup_steps
    span = max(1, settings.max_steps - settings.warmup_steps)
    progress = min(1.0, (step - settings.warmup_steps) / span)
    floor = settings.min_lr_ratio
    if settings.schedule == "linear":
        return floor + (1 - floor) * (1 - progress)
    return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
