"""Where do the [SEG] masks go wrong? `python benchmarks/mask_errors.py --json`

Teacher-forced (the ground-truth turns are the input, so the answer names its target), each
held-out dialogue's [SEG] mask is matched against every object and every part of its scene: the
candidate it overlaps best (IoU) says where it went.
- `on_target`: that candidate is the target;
- `wrong_extent`: the right object, the wrong extent (a part for the whole, or another part);
- `other_object`: another object, or one of its parts;
- `empty`: no pixel at all.
Split by whole objects and parts, with the mean IoU when on target, and again (`by_colour`) by
whether another object of the scene has the target's colour: a model that finds things by
colour alone does well only where the colour is the target's own. For whole targets of a shared
colour, `iou_colour_union` is the masks' mean IoU with every object of that colour together.
A model that finds the named thing but draws it badly and one that draws another thing well
need different fixes; cIoU alone does not tell them apart. Prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import numpy as np

OUTCOMES = ("on_target", "wrong_extent", "other_object", "empty")
SAME = 0.9  # two masks with IoU above this are the same region


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def scene_regions(annotation: dict) -> dict[str, np.ndarray]:
    """Every labelled region of a synthetic scene, by label, and every whole object, by its id
    ("obj02": the union of its parts)."""
    from miras.prist import focus_mask

    labels = {str(shape["label"]) for shape in annotation["shapes"]}
    objects = {label.split()[0] for label in labels}
    return {name: focus_mask(annotation, name) for name in sorted(labels | objects)}


def outcome(predicted: np.ndarray, target: np.ndarray, regions: dict[str, np.ndarray]) -> str:
    """Which of OUTCOMES a predicted mask is, given its target and the scene's regions."""
    if not predicted.any():
        return "empty"
    best = max(regions, key=lambda name: iou(predicted, regions[name]))
    if iou(regions[best], target) > SAME:
        return "on_target"
    return "wrong_extent" if best.split()[0] == owner(target, regions) else "other_object"


def owner(target: np.ndarray, regions: dict[str, np.ndarray]) -> str:
    """The id of the object the target belongs to: the whole object that covers most of it."""
    return max((name for name in regions if " " not in name), key=lambda name: (regions[name] & target).sum())


def object_colours(regions: dict[str, np.ndarray]) -> dict[str, str]:
    """Each object id's colour. (Labels read "obj02 red house walls".)"""
    return {name.split()[0]: name.split()[1] for name in regions if " " in name}


def colour_shared(target: np.ndarray, regions: dict[str, np.ndarray]) -> bool:
    """Does another object of the scene have the colour of the target's object?"""
    colours = object_colours(regions)
    mine = colours[owner(target, regions)]
    return sum(colour == mine for colour in colours.values()) > 1


def colour_union(target: np.ndarray, regions: dict[str, np.ndarray]) -> np.ndarray:
    """Every whole object of the colour of the target's object: what a mask that finds things by
    colour alone would cover."""
    colours = object_colours(regions)
    mine = colours[owner(target, regions)]
    return np.logical_or.reduce([regions[name] for name, colour in colours.items() if colour == mine])


def target_kind(target: np.ndarray, regions: dict[str, np.ndarray]) -> str:
    """"whole" if the target is a whole object, "part" if it is a part of one."""
    return "whole" if iou(target, regions[owner(target, regions)]) > SAME else "part"


def summarise(rows: list[tuple[str, str, float]]) -> dict:
    """rows of (kind, outcome, IoU) -> per kind: n, the share of each outcome, the mean IoU on
    target and overall."""
    figures = {}
    for kind in sorted({row[0] for row in rows}):
        mine = [row for row in rows if row[0] == kind]
        on_target = [value for _, result, value in mine if result == "on_target"]
        figures[kind] = {"n": len(mine)} | {
            result: sum(r == result for _, r, _ in mine) / len(mine) for result in OUTCOMES
        } | {
            "iou_on_target": float(np.mean(on_target)) if on_target else None,
            "iou": float(np.mean([value for _, _, value in mine])),
        }
    return figures


class Tally:
    """Predicted masks judged against their targets and scenes, summed into the figures."""

    def __init__(self) -> None:
        self.rows, self.by_colour, self.union_ious = [], {"shared": [], "own": []}, []

    def add(self, predicted: np.ndarray, target: np.ndarray, regions: dict[str, np.ndarray]) -> None:
        row = (target_kind(target, regions), outcome(predicted, target, regions), iou(predicted, target))
        self.rows.append(row)
        shared = colour_shared(target, regions)
        self.by_colour["shared" if shared else "own"].append(row)
        if shared and row[0] == "whole":
            self.union_ious.append(iou(predicted, colour_union(target, regions)))

    def figures(self) -> dict:
        figures = summarise(self.rows) | {"by_colour": {key: summarise(rows) for key, rows in self.by_colour.items()}}
        if self.union_ious:  # above the IoU with the target: the mask went to the colour, not the thing
            figures["by_colour"]["shared"]["whole"]["iou_colour_union"] = float(np.mean(self.union_ious))
        return figures


def mask_errors(model, source, count: int) -> dict:
    import torch
    from image_use import seg_masks  # benchmarks/ is on the path when this file runs as a script

    tally = Tally()
    with torch.no_grad():
        for index in range(count):
            item = source.item(index)
            predicted, targets = seg_masks(model, item, item.image)
            tally.add(predicted[0].cpu().numpy().astype(bool), targets[0].cpu().numpy().astype(bool),
                      scene_regions(source.annotation(index)))
    return tally.figures()


def main(argv: list[str] | None = None) -> int:
    from heldout import parse

    import miras
    from miras.training.data import SynthSource

    args = parse(__doc__, argv)
    model = miras.load(args.model).float().eval()
    source = SynthSource(args.seed, stage=0, size=128, obj_answer_share=1.0)
    figures = {"model": args.model} | mask_errors(model, source, args.dialogues)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
