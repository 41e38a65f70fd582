"""`miras-al retrain --store S --registry R [--eval DIR] [--base MODEL] --json`."""

from __future__ import annotations

import argparse
import sys

from active_learning.commands.common import (
    add_json,
    add_registry,
    add_store,
    add_training,
    emit,
    open_existing_store,
)

HELP = ("fine-tune the current version on curated corrections (stage 2); promote it only if "
        "cIoU improves")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from active_learning.retrain import RetrainSettings

    d = RetrainSettings()
    add_store(parser)
    add_registry(parser)
    parser.add_argument("--eval", default=None, metavar="DIR",
                        help="PRIST folder to judge on (default: a fixed held-out share of "
                             "the store's curated samples)")
    parser.add_argument("--base", default=None, metavar="MODEL",
                        help='model to start an empty registry with ("demo", a checkpoint folder)')
    parser.add_argument("--replay", default=None, metavar="DIR",
                        help="PRIST folder of earlier data to mix into every batch")
    parser.add_argument("--replay-share", type=float, default=d.replay_share,
                        help=f"share of each batch from --replay (default: {d.replay_share})")
    parser.add_argument("--margin", type=float, default=d.margin,
                        help=f"cIoU gain needed for promotion (default: {d.margin})")
    add_training(parser, d, "optimiser steps")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"default: {d.seed}")
    parser.add_argument("--heldout-share", type=float, default=d.heldout_share,
                        help=f"curated share held out without --eval (default: {d.heldout_share})")
    parser.add_argument("--eval-limit", type=int, default=d.eval_limit,
                        help=f"evaluation items at most (default: {d.eval_limit})")
    parser.add_argument("--replay-limit", type=int, default=d.replay_limit,
                        help="dialogues replayed turn by turn as the regression check "
                             f"(default: {d.replay_limit}; 0 skips it)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.registry import Registry
    from active_learning.retrain import RetrainSettings, retrain

    settings = RetrainSettings(
        steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
        margin=args.margin, heldout_share=args.heldout_share, replay_share=args.replay_share,
        eval_limit=args.eval_limit, replay_limit=args.replay_limit,
    )
    report = retrain(open_existing_store(args.store), Registry(args.registry), settings=settings,
                     eval_dir=args.eval, base=args.base, replay_dir=args.replay,
                     on_progress=_progress_lines)
    if "follower" in report:  # a rank other than 0 under torchrun: rank 0 reports
        return 0
    emit(args, report, _text)
    return 0


def _text(report: dict) -> str:
    verdict = "promoted" if report["promoted"] else "kept current"
    before, after = report["before"]["ciou"], report["after"]["ciou"]
    line = (f"{report['version']}: cIoU {before:.4f} -> {after:.4f} on {report['eval']['n']} "
            f"({report['eval']['source']}); {verdict} (current: {report['current']})")
    if report["replay"]:
        r = report["replay"]
        line += f"\nreplay cIoU {r['before']['ciou']:.4f} -> {r['after']['ciou']:.4f} on {r['n']}"
    print(f"trained on {report['trained_on']} samples in {report['seconds']} s", file=sys.stderr)
    return line


def _progress_lines(done: int, total: int, _record: dict) -> None:
    # "step N/M" on stderr for the napari dock's progress bar (tqdm is silent in a pipe).
    print(f"step {done}/{total}", file=sys.stderr, flush=True)
