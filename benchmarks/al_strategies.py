"""Does a strategy beat random? `python benchmarks/al_strategies.py --json`

Runs `miras-al simulate` (ground truth as the annotator) for random and a challenger over several
seeds, from the demo model on the shifted synthetic domain, and prints one JSON object:
each run's curve, the area under each curve (mean cIoU over the labeled range), and how many
labels the challenger needed to reach random's final cIoU (interpolated; null if it never did).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path


def area(curve: list[dict]) -> float:
    """Mean cIoU over the labeled range (trapezoids), so runs of any length compare."""
    xs = [p["labeled"] for p in curve]
    ys = [p["ciou"] for p in curve]
    total = sum((x1 - x0) * (y0 + y1) / 2 for x0, x1, y0, y1 in zip(xs, xs[1:], ys, ys[1:]))
    return total / (xs[-1] - xs[0])


def labels_to_reach(curve: list[dict], target: float) -> float | None:
    """The first labeled count (linearly interpolated) at which the curve reaches `target`."""
    if curve[0]["ciou"] >= target:
        return float(curve[0]["labeled"])
    for a, b in zip(curve, curve[1:]):
        if b["ciou"] >= target:
            share = (target - a["ciou"]) / (b["ciou"] - a["ciou"])
            return a["labeled"] + share * (b["labeled"] - a["labeled"])
    return None


def compare(random_curve: list[dict], other_curve: list[dict]) -> dict:
    target = random_curve[-1]["ciou"]
    needed = labels_to_reach(other_curve, target)
    return {
        # When random ends below the start, "labels to reach it" is 0 and says nothing.
        "start_ciou": random_curve[0]["ciou"],
        "auc_random": area(random_curve),
        "auc_other": area(other_curve),
        "random_final_ciou": target,
        "labels_random": random_curve[-1]["labeled"],
        "labels_other_to_reach_it": needed,
        "label_share": None if needed is None else needed / random_curve[-1]["labeled"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategy", default="uncertainty", help="the challenger (default: uncertainty)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--model", default="demo")
    parser.add_argument("--images", type=int, default=120, help="shifted-domain scenes to make")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=8)
    parser.add_argument("--pool", type=int, default=64)
    parser.add_argument("--heldout", type=int, default=48)
    # 40 steps cannot use even the whole pool (64 labels: 0.163 from 0.171); 160 can (0.238):
    # benchmarks/al_diagnosis.py. Cached stage-2 steps are cheap, scoring is what takes the time.
    parser.add_argument("--steps", type=int, default=160, help="stage-2 steps per round")
    parser.add_argument("--max-new-tokens", type=int, default=48, help="longest reply while scoring")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    args = parser.parse_args(argv)

    from active_learning.simulate import SimulationSettings, simulate
    from miras.synth import generate

    runs = []
    with tempfile.TemporaryDirectory(prefix="al-bench-") as scratch:
        # The demo model names its targets ([OBJ]{class}[SEG]); so do these dialogues.
        data = generate(Path(scratch) / "shifted", args.images, seed=7, domain="shifted", obj_answer_share=1.0)
        for seed in args.seeds:
            for strategy in ("random", args.strategy):
                settings = SimulationSettings(rounds=args.rounds, per_round=args.per_round, seed=seed,
                                              pool=args.pool, heldout=args.heldout, steps=args.steps,
                                              max_new_tokens=args.max_new_tokens)
                result = simulate(data, args.model, strategy, settings, work=Path(scratch) / f"{strategy}-{seed}")
                runs.append({"seed": seed, "strategy": strategy, "curve": result["curve"]})
                if not args.json:
                    print(f"seed {seed} {strategy}: " + ", ".join(
                        f"{p['labeled']}:{p['ciou']:.3f}" for p in result["curve"]), file=sys.stderr)
    by = {(r["seed"], r["strategy"]): r["curve"] for r in runs}
    per_seed = [{"seed": s} | compare(by[s, "random"], by[s, args.strategy]) for s in args.seeds]
    shares = [c["label_share"] for c in per_seed]
    summary = {
        "auc_random_mean": statistics.mean(c["auc_random"] for c in per_seed),
        "auc_other_mean": statistics.mean(c["auc_other"] for c in per_seed),
        "label_share_mean": statistics.mean(shares) if None not in shares else None,
        "seeds_where_other_reached_random": sum(s is not None for s in shares),
    }
    print(json.dumps({"strategy": args.strategy, "settings": vars(args), "summary": summary,
                      "per_seed": per_seed, "runs": runs}, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
