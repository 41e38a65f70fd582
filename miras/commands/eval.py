"""`miras eval --model M --data DIR --json`: every metric on a PRIST-layout data set."""

from __future__ import annotations

import argparse

from miras.commands import print_json

HELP = "evaluate a model on a PRIST-layout data set"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="demo", help='"demo", a checkpoint folder or a registry')
    parser.add_argument("--data", required=True, help="folder with prist.json, images/ and masks/")
    parser.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    parser.add_argument("--no-text", action="store_true", help="skip BLEU/ROUGE/METEOR (no Java)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, ... (default: cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    import miras
    from miras.evaluate import evaluate
    from miras.progress import advancer, progress_bar

    model = miras.load(args.model, device=args.device)
    with progress_bar(desc="dialogues", unit="dlg") as bar:
        scores = evaluate(model, args.data, limit=args.limit, text=not args.no_text, on_progress=advancer(bar))
    if args.json:
        print_json(scores)
    else:
        for key, value in scores.items():
            print(f"{key:>10}  {value:.4f}" if isinstance(value, float) else f"{key:>10}  {value}")
    return 0
