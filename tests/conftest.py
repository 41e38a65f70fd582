from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

SEG_DIALOGUE = [
    ("human", "Which object on the table is red?"),
    ("gpt", "The mug on the left is red."),
    ("human", "Segment the part you hold."),
    ("gpt", "Sure, it is [OBJ]the mug handle[SEG]."),
]


@pytest.fixture
def tiny_model():
    """A fresh, randomly initialised tiny MIRAS (seeded)."""
    from miras.checkpoint import build

    return build("tiny", seed=0)


@pytest.fixture
def rgb_image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (40, 52, 3), dtype=np.uint8)


@pytest.fixture
def box_mask() -> np.ndarray:
    mask = np.zeros((40, 52), bool)
    mask[8:24, 6:30] = True
    return mask


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"the shared PRIST sample data is not at {SHARED_DATA}")
    return SHARED_DATA
