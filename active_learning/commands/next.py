"""`miras-al next --store S --strategy S --k K --annotator NAME --json`: what to annotate next."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_store, emit, open_existing_store

HELP = "the K most informative proposed items, leased to one annotator"
EPILOG = ("Strategies rank the scores `miras-al score` stored; items not scored yet come after "
          "the scored ones. Each call serves new items; --resume first returns the ones you "
          "still hold.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from active_learning.strategies import STRATEGIES

    parser.epilog = EPILOG
    add_store(parser)
    parser.add_argument("--strategy", default="hybrid", choices=list(STRATEGIES),
                        help="; ".join(f"{s.name}: {s.description}" for s in STRATEGIES.values()))
    parser.add_argument("--k", type=int, default=5, help="how many items (default: 5)")
    parser.add_argument("--annotator", default=None,
                        help="who the items are held for (default: your login name)")
    parser.add_argument("--lease-seconds", type=float, default=900.0,
                        help="how long they are held (default: 900)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the random strategy")
    parser.add_argument("--resume", action="store_true",
                        help="first give back the items you still hold (leases renewed)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.queue import next_items

    annotator = args.annotator or _login()
    items = next_items(open_existing_store(args.store), args.strategy, args.k, annotator,
                       args.lease_seconds, seed=args.seed, include_held=args.resume)
    result = {"strategy": args.strategy, "annotator": annotator,
              "items": [item.to_json() for item in items]}
    emit(args, result, _table)
    return 0


def _login() -> str:
    import getpass

    return getpass.getuser()


def _table(result: dict) -> str:
    lines = [f"{'rank':>4}  {'sample':<34} {'score':>7}  {'pred.IoU':>8}"]
    for item in result["items"]:
        score = "-" if item["score"] is None else f"{item['score']:.3f}"
        iou = "-" if item["predicted_iou"] is None else f"{item['predicted_iou']:.3f}"
        lines.append(f"{item['rank']:>4}  {item['sample_id']:<34} {score:>7}  {iou:>8}")
    if not result["items"]:
        lines.append("(nothing to annotate: no proposed sample is free)")
    return "\n".join(lines)
