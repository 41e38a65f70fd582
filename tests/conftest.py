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
def tqdm_clock(monkeypatch):
    """tqdm's clock, one second further at every reading: updates look a second apart, so a
    test sees what a log file gets from a long job."""
    import itertools

    import tqdm.std

    seconds = itertools.count(start=1_000_000)
    monkeypatch.setattr(tqdm.std, "time", lambda: float(next(seconds)))


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


def overfit(model, batch, *, steps: int, lr: float) -> list[float]:
    """Train every parameter on one batch with AdamW; the loss of each step."""
    import torch

    from miras.trainable import apply_policy

    apply_policy(model, "all")
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = model(batch).loss
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return losses


BOX_DIALOGUE = [
    ("human", "What is in the picture?"),
    ("gpt", "A red box on grey."),
    ("human", "Segment the red box."),
    ("gpt", "Sure, it is [OBJ]the red box[SEG]."),
]


def box_scene() -> tuple[np.ndarray, np.ndarray]:
    """A grey image with a red box, and the box's mask."""
    image = np.full((40, 52, 3), 120, np.uint8)
    mask = np.zeros((40, 52), bool)
    mask[8:24, 6:30] = True
    image[mask] = (220, 30, 30)
    return image, mask


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """A tiny model overfitted on BOX_DIALOGUE, saved as a checkpoint folder (a few seconds)."""
    from miras.batch import collate, make_example
    from miras.checkpoint import build, save_pretrained

    model = build("tiny", seed=0)
    image, mask = box_scene()
    overfit(model, collate([make_example(model, image, BOX_DIALOGUE, [mask])]), steps=100, lr=1e-2)
    return save_pretrained(model.eval(), tmp_path_factory.mktemp("trained") / "tiny-box")
