"""Test data for the correction-store tests (importable by spawned worker processes too)."""

from __future__ import annotations

import numpy as np

from active_learning.store import CorrectionStore

DIALOGUE = [
    {"from": "human", "value": "<image>\nWo ist das Brotmesser? \U0001f52a \"quoted\" 'single'"},
    {"from": "gpt", "value": "It is the [OBJ]bread knife[SEG] \u2014 left\\right\nnext line"},
]


def make_image(shape=(64, 48), dtype=np.uint8, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == np.float32:
        return rng.random(shape, dtype=np.float32)
    return rng.integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype, endpoint=True)


def make_mask(shape=(64, 48), seed=1) -> np.ndarray:
    return np.random.default_rng(seed).random(shape[:2]) > 0.5


def add(store: CorrectionStore, seed: int = 0, **overrides) -> str:
    """Add one proposed sample with seeded pixels; overrides replace any add_sample argument."""
    image = overrides.pop("image", None)
    if image is None:
        image = make_image(seed=seed)
    kwargs = {
        "image": image,
        "dialogue": DIALOGUE,
        "focus": "the bread knife",
        "proposal": make_mask(np.shape(image), seed=seed + 1000),
        "model_version": "v0003",
        "score": 0.41,
        "annotator": "ana",
    }
    kwargs.update(overrides)
    return store.add_sample(**kwargs)
