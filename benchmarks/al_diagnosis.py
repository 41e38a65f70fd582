"""Why does a strategy not beat random? `python benchmarks/al_diagnosis.py --json`

The companion of `al_strategies.py`, on the same shifted-domain data and split (seed 0). It asks
the two questions an uncertainty strategy depends on and prints one JSON object:

1. Does the score point at the items the model gets wrong? For every pool dialogue: the
   uncertainty the strategy ranks by (from the turn-by-turn probe, as `miras-al score` makes it),
   the IoU of that probe's mask, and the IoU of the mask when the dialogue is given
   (teacher-forced, the figure the learning curve reports and stage 2 trains). Spearman
   correlations of uncertainty with the error (1 - IoU) of each.
2. Can labels move the curve at all? The held-out cIoU after stage 2 on *every* pool dialogue
   (what no strategy can beat), at the benchmark's step count and at four times as many steps.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 1.0


def pool_figures(model, data: Path, pool: list, max_new_tokens: int) -> list[dict]:
    """Uncertainty, probe IoU and teacher-forced IoU of every pool dialogue."""
    from active_learning.scoring import Scorer, ScoreSettings
    from miras.prist import load_annotation, load_image
    from miras.training.data import item_from
    from miras.training.loop import evaluate_masks

    scorer = Scorer(model, "start", ScoreSettings(paraphrases=1, max_new_tokens=max_new_tokens))
    rows = []
    for index, sample in pool:
        image, annotation = load_image(data, sample.img_id), load_annotation(data, sample.img_id)
        item = item_from(sample, image, annotation, 2, f"diag-{index}")
        truth = item.masks[0]
        chat = scorer.chat(image)
        probe = scorer.probe(chat, sample.to_json()["dialogue"], chat.image_features())
        forced = evaluate_masks(model, [item])["ciou"]  # one item: its IoU
        rows.append({
            "uncertainty": probe.scores.uncertainty(),
            "predicted_iou": probe.scores.predicted_iou,
            "probe_iou": iou(probe.mask, truth) if probe.mask is not None else 0.0,
            "teacher_forced_iou": forced,
        })
    return rows


def spearman(x: list[float], y: list[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def ceiling(data: Path, model: str, args, steps: int, work: Path) -> list[dict]:
    """Random with one round that labels the whole pool: the curve's best case."""
    from active_learning.simulate import SimulationSettings, simulate

    settings = SimulationSettings(rounds=1, per_round=args.pool, seed=0, pool=args.pool,
                                  heldout=args.heldout, steps=steps)
    return simulate(data, model, "random", settings, work=work)["curve"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--images", type=int, default=120, help="shifted-domain scenes (as al_strategies.py)")
    parser.add_argument("--pool", type=int, default=64)
    parser.add_argument("--heldout", type=int, default=48)
    parser.add_argument("--steps", type=int, default=40, help="stage-2 steps of the first all-labels run (4x for the second)")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    import miras
    from active_learning.simulate import split_data
    from miras.prist import read_prist
    from miras.synth import generate
    from miras.training.data import SEG

    with tempfile.TemporaryDirectory(prefix="al-diagnosis-") as scratch:
        data = generate(Path(scratch) / "shifted", args.images, seed=7, domain="shifted", obj_answer_share=1.0)
        samples = [s for s in read_prist(data) if sum(t.text.count(SEG) for t in s.dialogue) == 1]
        split = split_data(samples, args.heldout, args.pool, seed=0)
        rows = pool_figures(miras.load(args.model), data, split.pool, args.max_new_tokens)
        if not args.json:
            print(f"scored {len(rows)} pool dialogues", file=sys.stderr)
        curves = {f"steps_{steps}": ceiling(data, args.model, args, steps, Path(scratch) / f"all-{steps}")
                  for steps in (args.steps, 4 * args.steps)}
    column = {key: [r[key] for r in rows] for key in rows[0]}
    result = {
        "settings": vars(args),
        "pool": len(rows),
        "mean_probe_iou": float(np.mean(column["probe_iou"])),
        "mean_teacher_forced_iou": float(np.mean(column["teacher_forced_iou"])),
        "spearman_uncertainty_vs_probe_error": spearman(column["uncertainty"], [1 - v for v in column["probe_iou"]]),
        "spearman_uncertainty_vs_teacher_forced_error": spearman(
            column["uncertainty"], [1 - v for v in column["teacher_forced_iou"]]),
        "spearman_probe_vs_teacher_forced_iou": spearman(column["probe_iou"], column["teacher_forced_iou"]),
        "all_labels": {name: {"start_ciou": c[0]["ciou"], "ciou": c[-1]["ciou"], "labeled": c[-1]["labeled"]}
                       for name, c in curves.items()},
        "items": rows,
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
