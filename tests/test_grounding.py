"""The image-first lessons of the demo recipe: answers that only the pixels hold."""

from __future__ import annotations

import re

import numpy as np

from miras.synth.domain import get_domain
from miras.training.grounding import NamedColourSource, SolidColourSource


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
    for source_type in (SolidColourSource, NamedColourSource):
        a, b = source_type(seed=1).item(7), source_type(seed=1).item(7)
        assert a.turns == b.turns and np.array_equal(a.image, b.image) and a.key == b.key
        assert source_type(seed=2).item(7).key != a.key
        assert source_type(seed=1).signature() != source_type(seed=2).signature()
