"""Sample data: synthetic scenes made in code (no download), like the model's training data."""

from __future__ import annotations

import numpy as np

SEED = 0


def sample_scene() -> list[tuple]:
    """One 256x256 RGB scene of simple objects with parts (File > Open Sample)."""
    from miras.synth import generate_sample

    image, _annotation, samples = generate_sample(np.random.default_rng(SEED), "base", 256)
    questions = [s.dialogue[0].text for s in samples]
    meta = {"name": "MIRAS scene", "rgb": True, "metadata": {"example_questions": questions}}
    return [(image, meta, "image")]


def sample_stack(frames: int = 5) -> list[tuple]:
    """A (5, 128, 128) uint16 gray stack of scenes, like a microscopy time series."""
    from miras.synth import generate_sample

    rng = np.random.default_rng(SEED)
    planes = [generate_sample(rng, "base", 128)[0].mean(axis=2) for _ in range(frames)]
    stack = (np.stack(planes) * 200).astype(np.uint16)  # a 16-bit range, as cameras give
    return [(stack, {"name": "MIRAS stack", "colormap": "gray"}, "image")]
