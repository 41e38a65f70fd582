"""The bundled demo model: small, honest about itself, and usable offline out of the box."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import miras
from miras.checkpoint import BUNDLED, WEIGHTS_FILE
from miras.metrics import MaskMeter
from miras.prist import focus_mask

DEMO = BUNDLED / "demo"


def _metrics() -> dict:
    return json.loads((DEMO / "metrics.json").read_text(encoding="utf-8"))


def test_demo_weights_are_small_enough_to_ship():
    size = sum(path.stat().st_size for path in DEMO.iterdir())
    assert size < 25 * 2**20, f"the demo model folder is {size / 2**20:.1f} MiB"


def test_model_card_states_its_limits_and_measured_metrics():
    card = (DEMO / "README.md").read_text(encoding="utf-8")
    metrics = _metrics()
    assert "synthetic scenes only" in card
    assert metrics["n"] >= 100
    assert f"{metrics['ciou']:.4f}" in card, "the card's table must hold the measured cIoU"


@pytest.fixture(scope="module")
def demo_model():
    return miras.load("demo")


def test_demo_model_loads_offline_from_the_package(demo_model, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert (DEMO / WEIGHTS_FILE).exists()
    assert demo_model.config.name == "demo"
    assert not demo_model.training


@functools.cache
def _unseen_requests(count: int):
    """Single requests on scenes no recipe seed makes: (image, sample, target, every object)."""
    from miras.synth import generate_sample

    found = []
    index = 0
    while len(found) < count:
        image, annotation, samples = generate_sample(np.random.default_rng([4242, index]), "base", 128)
        index += 1
        for sample in samples:
            if len(sample.dialogue) == 2:
                everything = np.zeros(image.shape[:2], bool)
                for shape in annotation["shapes"]:
                    everything |= focus_mask(annotation, shape["label"])
                found.append((image, sample, focus_mask(annotation, sample.focus), everything))
    return found[:count]


def test_demo_model_segments_the_named_target_not_everything(demo_model):
    """Given the target's name before [SEG] (`[OBJ]{name}[SEG]`), its masks beat "every object"."""
    from miras.training.data import Item, alignment_turns
    from miras.training.loop import evaluate_masks

    requests = _unseen_requests(24)
    items = [Item(str(i), image, alignment_turns(sample), [target]) for i, (image, sample, target, _) in enumerate(requests)]
    ours = evaluate_masks(demo_model, items)["ciou"]
    everything = MaskMeter()
    for _, _, target, every_object in requests:
        everything.update(every_object, target)
    baseline = everything.compute()["ciou"]
    assert ours > baseline + 0.1, f"cIoU {ours:.3f} vs {baseline:.3f} for masking every object"


def test_demo_model_names_and_segments_what_it_is_asked_for(demo_model):
    """Played as a user would (its own answer, its own masks), the masks beat "every object"."""
    model_meter, everything_meter = MaskMeter(), MaskMeter()
    for image, sample, target, everything in _unseen_requests(24):
        reply = demo_model.chat(image).send(sample.dialogue[0].text)
        predicted = np.zeros(target.shape, bool)
        for mask in reply.masks:
            predicted |= mask
        model_meter.update(predicted, target)
        everything_meter.update(everything, target)
    ours, baseline = model_meter.compute()["ciou"], everything_meter.compute()["ciou"]
    assert ours > baseline + 0.05, f"cIoU {ours:.3f} vs {baseline:.3f} for masking every object"


@pytest.mark.xfail(strict=True, reason="issue 3 open: the bundled model's turn-by-turn cIoU is below 0.60")
def test_demo_model_reaches_the_promised_ciou():
    assert _metrics()["ciou"] >= 0.60


def test_demo_model_answers_at_the_size_of_the_users_image(demo_model):
    image, sample, _, _ = _unseen_requests(1)[0]
    bigger = np.repeat(np.repeat(image, 2, axis=0), 3, axis=1)  # 256 x 384
    reply = demo_model.chat(bigger).send(sample.dialogue[0].text)
    assert "[SEG]" in reply.raw and len(reply.masks) == 1
    assert reply.masks[0].shape == bigger.shape[:2] and reply.masks[0].any()


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_demo_model_loaded_in_half_precision_draws_the_masks_of_full_precision(demo_model, dtype):
    """`miras.load(..., dtype=torch.bfloat16)`, as on a GPU, answers with the same masks (SAM's
    positional encoding once failed on any dtype but float32 at the first [SEG])."""
    import torch

    half = miras.load("demo", dtype=getattr(torch, dtype))
    for image, sample, _, _ in _unseen_requests(4):
        ours = half.chat(image).send(sample.dialogue[0].text)
        full = demo_model.chat(image).send(sample.dialogue[0].text)
        assert len(ours.masks) == len(full.masks) == 1
        overlap = (ours.masks[0] & full.masks[0]).sum() / max((ours.masks[0] | full.masks[0]).sum(), 1)
        assert overlap > 0.9, f"{dtype} mask IoU {overlap:.2f} with the float32 mask"
