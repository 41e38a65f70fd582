"""`miras synth OUT --n N --seed S [--domain base|shifted] [--size 128]`: the command's options and
its body, for the project's argparse CLI to mount."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from miras.synth.domain import DOMAIN_NAMES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of `miras synth` to `parser`."""
    parser.add_argument("out", type=Path, help="folder to write prist.json, images/, masks/ into")
    parser.add_argument(
        "--n", type=int, required=True, help="number of images (1-3 dialogues each)"
    )
    parser.add_argument("--seed", type=int, required=True, help="same seed, same bytes")
    parser.add_argument(
        "--domain",
        choices=DOMAIN_NAMES,
        default="base",
        help="base, or shifted: new kinds, textures, colours and backgrounds (default: base)",
    )
    parser.add_argument("--size", type=int, default=128, help="image side in pixels (default: 128)")
    parser.add_argument(
        "--obj-answer-share",
        type=float,
        default=0.5,
        help="share of final answers that name the target, '[OBJ]the red mug[SEG]' (default: 0.5)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def run(args: argparse.Namespace) -> int:
    """Write the data set with a progress bar on stderr; print a summary (JSON with --json)."""
    from miras.progress import advancer, progress_bar
    from miras.synth.dataset import generate  # here, so that `miras --help` stays fast

    start = time.perf_counter()
    with progress_bar(args.n, "synth", "img") as bar:
        out = generate(
            args.out,
            n=args.n,
            seed=args.seed,
            domain=args.domain,
            size=args.size,
            obj_answer_share=args.obj_answer_share,
            on_progress=advancer(bar),
        )
    seconds = time.perf_counter() - start
    summary = {
        "out": str(out),
        "images": args.n,
        "seconds": round(seconds, 2),
        "images_per_second": round(args.n / seconds, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        rate = summary["images_per_second"]
        print(f"wrote {args.n} images to {out} in {seconds:.1f} s ({rate} images/s)")
    return 0
