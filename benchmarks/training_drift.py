"""Do training steps slow down as a run goes on? `python benchmarks/training_drift.py --json`

Trains the demo model for `--steps` stage-0 dialogue steps (the demo recipe's batch, rate and
loss weights, bf16 autocast, eager) twice, each run in a fresh process: once as training runs,
with each batch padded to a multiple of `TRAINING_LENGTH_MULTIPLE` positions, and once, the
baseline, padded only to its longest dialogue. Both runs see the same batches. For each: seconds
a step over the first and the last `--window` steps, the whole run's seconds, the process's peak
RSS and the batch lengths the LLM saw. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ARMS = ("padded", "longest")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--window", type=int, default=50, help="steps averaged at each end of the run")
    parser.add_argument("--batch", type=int, default=None, help="dialogues a step (default: the demo recipe's)")
    parser.add_argument("--arm", choices=ARMS, help="run one arm in this process (what the parent runs)")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser.parse_args(argv)


def run_arm(args: argparse.Namespace) -> dict:
    """Train in this process and time every step."""
    import torch
    from run import process_peak_rss_mb

    import miras
    import miras.modeling.miras as modeling
    from miras.training.demo_recipe import DemoRecipe, _named_dialogues, stage0_settings
    from miras.training.loop import train

    if args.arm == "longest":
        assert hasattr(modeling, "TRAINING_LENGTH_MULTIPLE"), "training pads batches some other way now"
        modeling.TRAINING_LENGTH_MULTIPLE = 1
    torch.set_num_threads(min(2, torch.get_num_threads()))
    recipe = DemoRecipe()
    settings = replace(stage0_settings(recipe), max_steps=args.steps, batch_size=args.batch or recipe.stage0_batch,
                       eval_every=0, save_every=0, bf16=True, compile=False)
    model = miras.load(args.model).float()
    lengths: set[int] = set()
    model.llm.get_decoder().register_forward_pre_hook(
        lambda _, __, kwargs: lengths.add(kwargs["inputs_embeds"].shape[1]), with_kwargs=True)
    ends: list[float] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        train(model, _named_dialogues(recipe, 7), settings, out,
              on_progress=lambda *_: ends.append(time.perf_counter()))
    steps = [b - a for a, b in zip([started, *ends], ends)]
    window = min(args.window, len(steps))
    return {
        "first_s_per_step": sum(steps[:window]) / window,
        "last_s_per_step": sum(steps[-window:]) / window,
        "total_s": sum(steps),
        "peak_rss_mb": process_peak_rss_mb(),
        "lengths": sorted(lengths),
    }


def run_both(args: argparse.Namespace) -> dict:
    """Each arm in its own process, so neither inherits the other's allocations."""
    figures: dict = {"steps": args.steps, "window": min(args.window, args.steps)}
    for arm in ARMS:
        command = [sys.executable, __file__, "--arm", arm, "--model", args.model, "--steps", str(args.steps),
                   "--window", str(args.window), *(["--batch", str(args.batch)] if args.batch else [])]
        done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).parent)
        if done.returncode:
            raise RuntimeError(f"the {arm} run failed:\n{done.stderr[-3000:]}")
        figures[arm] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["total_speedup"] = figures["longest"]["total_s"] / figures["padded"]["total_s"]
    return figures


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    if args.arm:
        figures = run_arm(args)
        print(json.dumps(figures))
        return figures
    figures = run_both(args)
    if not args.json:
        print(f"{args.steps} dialogue steps, bf16, padded to a multiple vs to the longest dialogue:")
    print(json.dumps(figures, indent=None if args.json else 2))
    return figures


if __name__ == "__main__":
    main()
