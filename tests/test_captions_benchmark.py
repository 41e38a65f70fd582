"""`benchmarks/captions.py`: what a reply lists, scored against the scene."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).parents[1] / "benchmarks" / "captions.py"
_spec = importlib.util.spec_from_file_location("captions", _PATH)
captions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(captions)

COLOURS, KINDS = ("red", "green", "blue"), ("ring", "mug", "star")


def test_a_pair_counts_only_when_its_colour_stands_next_to_its_kind():
    said = captions.mentions("A small red ring, a dotted green mug and a blue striped star.", COLOURS, KINDS)
    assert said["pairs"] == {("red", "ring"), ("green", "mug")}  # "blue striped star" is not "blue star"
    assert said["colours"] == set(COLOURS) and said["kinds"] == set(KINDS)
    assert captions.mentions("a bluestar and a redring", COLOURS, KINDS) == {"pairs": set(), "colours": set(), "kinds": set()}


def test_precision_and_recall_are_summed_over_scenes():
    from types import SimpleNamespace as Obj

    scenes = [[Obj(colour="red", kind="ring"), Obj(colour="blue", kind="mug")], [Obj(colour="green", kind="star")]]
    replies = ["I see a red ring, a red ring and a green mug.", "The picture shows a green star."]
    result = captions.scores([captions.mentions(r, COLOURS, KINDS) for r in replies], [captions.truth(s) for s in scenes])
    # Written pairs: {red ring, green mug} and {green star}; 2 of those 3 are there, of 3 in all.
    assert result["pairs_precision"] == pytest.approx(2 / 3) and result["pairs_recall"] == pytest.approx(2 / 3)
    # Colours written: {red, green} (green is not in scene 1) and {green}; the scenes hold 3.
    assert result["colours_precision"] == pytest.approx(2 / 3) and result["colours_recall"] == pytest.approx(2 / 3)
    assert result["kinds_precision"] == 1.0 and result["kinds_recall"] == 1.0


def test_the_caption_source_gives_the_scene_its_answer_lists():
    from miras.training.grounding import CaptionSource

    source = CaptionSource(seed=3)
    for i in range(3):
        answer, objects = source.item(i).turns[1][1], source.draw(i)[0].objects
        assert captions.mentions(answer, [o.colour for o in objects], [o.kind for o in objects])["pairs"] == \
            captions.truth(objects)["pairs"]
