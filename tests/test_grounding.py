"""The image-first lessons of the demo recipe: answers that only the pixels hold."""

from __future__ import annotations

import re

import numpy as np

from miras.synth.domain import get_domain
from miras.training.grounding import CaptionSource, NamedColourSource, SolidColourSource


def _answer(item) -> str:
    return item.turns[-1][1]


def test_a_solid_picture_is_named_by_its_own_colour():
    source = SolidColourSource(seed=3, size=32)
    colours = dict(get_domain("base").colours)
    for i in range(20):
        item = source.item(i)
        name = re.fullmatch(r"It is \[OBJ\]the (.+) picture\[SEG\]\.", _answer(item)).group(1)
        mean = item.image.reshape(-1, 3).mean(0)
        nearest = min(colours, key=lambda c: np.linalg.norm(mean - np.asarray(colours[c], float)))
        assert nearest == name
        assert item.masks[0].all() and item.masks[0].shape == item.image.shape[:2]


def test_a_named_kind_is_answered_with_a_colour_and_masked():
    source = NamedColourSource(seed=5)
    names = []
    for i in range(12):
        item = source.item(i)
        kind = re.fullmatch(r"Please segment the (.+)\.", item.turns[0][1]).group(1)
        colour = re.fullmatch(rf"Sure, it is \[OBJ\]the (.+) {re.escape(kind)}\[SEG\]\.", _answer(item)).group(1)
        assert colour in dict(get_domain("base").colours)
        assert item.masks[0].sum() > 60  # the unique object, visible
        names.append((colour, kind))
    assert len(set(names)) > 6  # varied lessons, not one repeated scene


def test_lessons_are_deterministic_per_seed_and_index():
    for source_type in (SolidColourSource, NamedColourSource, CaptionSource):
        a, b = source_type(seed=1).item(7), source_type(seed=1).item(7)
        assert a.turns == b.turns and np.array_equal(a.image, b.image) and a.key == b.key
        assert source_type(seed=2).item(7).key != a.key
        assert source_type(seed=1).signature() != source_type(seed=2).signature()


def test_a_caption_names_colours_that_are_in_its_own_picture():
    colours = dict(get_domain("base").colours)
    source = CaptionSource(seed=4)
    for i in range(12):
        item = source.item(i)
        assert item.masks == [] and "[SEG]" not in item.turns[-1][1]
        named = [c for c in colours if re.search(rf"\b{c}\b", _answer(item))]
        assert named
        pixels = item.image.reshape(-1, 3).astype(float)
        for colour in named:
            near = np.linalg.norm(pixels - np.asarray(colours[colour], float), axis=1) < 30
            assert near.sum() >= 20, (colour, _answer(item))


def test_captions_train_the_text_without_masks(tmp_path):
    import json

    from miras.checkpoint import build
    from miras.training.loop import train
    from miras.training.settings import TrainSettings

    settings = TrainSettings(stage=0, policy="all-but-towers", max_steps=2, batch_size=2, lr=1e-3,
                             warmup_steps=0, eval_every=0, save_every=0, seed=0)
    train(build("tiny", seed=0), CaptionSource(seed=1, size=64), settings, tmp_path / "run")
    records = [json.loads(line) for line in (tmp_path / "run" / "train-log.jsonl").read_text().splitlines()]
    losses = [r["ce"] for r in records if "ce" in r]
    assert len(losses) == 2 and all(np.isfinite(losses)) and losses[0] > 0
