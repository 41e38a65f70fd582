"""`benchmarks/mask_errors.py`: where a [SEG] mask went (the target, the wrong extent of the
right object, another object, nothing)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

_BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
_spec = importlib.util.spec_from_file_location("mask_errors", _BENCHMARKS / "mask_errors.py")
mask_errors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mask_errors)


def _regions():
    """A house (walls + roof) on the left, a ring on the right, in 20x20."""
    walls, roof, ring = (np.zeros((20, 20), bool) for _ in range(3))
    walls[10:18, 2:8] = True
    roof[5:10, 2:8] = True
    ring[4:10, 12:18] = True
    return {"obj01": walls | roof, "obj01 red house walls": walls, "obj01 red house roof": roof,
            "obj02": ring, "obj02 blue ring": ring}


def test_each_outcome_is_told_apart():
    regions = _regions()
    house, walls, ring = regions["obj01"], regions["obj01 red house walls"], regions["obj02"]
    sloppy_house = house.copy()
    sloppy_house[18, 2:8] = True  # one row too many still counts as the house
    assert mask_errors.outcome(sloppy_house, house, regions) == "on_target"
    assert mask_errors.outcome(walls, house, regions) == "wrong_extent"  # a part for the whole
    assert mask_errors.outcome(house, walls, regions) == "wrong_extent"  # the whole for a part
    assert mask_errors.outcome(regions["obj01 red house roof"], walls, regions) == "wrong_extent"
    assert mask_errors.outcome(ring, walls, regions) == "other_object"
    assert mask_errors.outcome(np.zeros_like(ring), ring, regions) == "empty"
    assert mask_errors.target_kind(house, regions) == "whole"
    assert mask_errors.target_kind(ring, regions) == "whole"
    assert mask_errors.target_kind(walls, regions) == "part"


def test_a_colour_is_shared_only_when_another_object_has_it():
    regions = _regions()
    walls, ring = regions["obj01 red house walls"], regions["obj02"]
    assert not mask_errors.colour_shared(walls, regions)
    assert not mask_errors.colour_shared(ring, regions)
    other = np.zeros((20, 20), bool)
    other[0:3, 0:3] = True
    regions |= {"obj03": other, "obj03 red star": other}  # a second red object
    assert mask_errors.colour_shared(walls, regions)
    assert not mask_errors.colour_shared(ring, regions)
    assert (mask_errors.colour_union(walls, regions) == (regions["obj01"] | other)).all()
    assert (mask_errors.colour_union(ring, regions) == ring).all()


def test_regions_of_a_synthetic_scene_cover_every_object_and_part():
    from miras.training.data import SynthSource

    source = SynthSource(3, stage=0, size=64, obj_answer_share=1.0)
    annotation = source.annotation(0)
    regions = mask_errors.scene_regions(annotation)
    labels = {shape["label"] for shape in annotation["shapes"]}
    assert labels <= set(regions)
    for name in {label.split()[0] for label in labels}:  # a whole object is the union of its parts
        parts = [regions[label] for label in labels if label.split()[0] == name]
        assert (regions[name] == np.logical_or.reduce(parts)).all()
    target = source.item(0).masks[0] > 0.5  # the item's target is one of them
    assert any(mask_errors.iou(target, region) > mask_errors.SAME for region in regions.values())


def test_the_figures_of_a_model_add_up(tiny_model, monkeypatch):
    from miras.training.data import SynthSource

    monkeypatch.syspath_prepend(str(_BENCHMARKS))
    # seed 5's first 4: whole targets of a shared colour and of their own, and a part
    figures = mask_errors.mask_errors(tiny_model.float().eval(), SynthSource(5, stage=0, size=64, obj_answer_share=1.0), 4)
    by_colour = figures.pop("by_colour")
    assert by_colour["shared"]["whole"]["n"] == 2 and by_colour["own"]["whole"]["n"] == 1
    assert 0 <= by_colour["shared"]["whole"].pop("iou_colour_union") <= 1
    assert sum(kind["n"] for kind in figures.values()) == 4
    assert sum(kind["n"] for split in by_colour.values() for kind in split.values()) == 4
    for kind in [*figures.values(), *(k for split in by_colour.values() for k in split.values())]:
        assert abs(sum(kind[result] for result in mask_errors.OUTCOMES) - 1) < 1e-9
        assert 0 <= kind["iou"] <= 1


def test_summarise_counts_shares_and_the_iou_on_target():
    rows = [("whole", "on_target", 0.8), ("whole", "other_object", 0.1), ("part", "empty", 0.0)]
    figures = mask_errors.summarise(rows)
    assert figures["whole"]["n"] == 2 and figures["whole"]["on_target"] == 0.5
    assert figures["whole"]["iou_on_target"] == 0.8 and abs(figures["whole"]["iou"] - 0.45) < 1e-9
    assert figures["part"]["empty"] == 1.0 and figures["part"]["iou_on_target"] is None
