"""`miras-al fsck --store STORE [--repair]`: what crashed writers left behind, and its repair."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_store, emit

HELP = "check a store for unfinished samples and images; --repair fixes what it can"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    parser.add_argument("--repair", action="store_true",
                        help="remove unfinished samples (roll back interrupted re-corrections), "
                             "complete whole images")
    parser.add_argument("--min-age", type=float, default=0.0, metavar="SECONDS",
                        help="with --repair, leave samples touched in the last SECONDS alone "
                             "(use e.g. 600 while annotators are writing)")
    parser.add_argument("--prune-images", action="store_true",
                        help="with --repair, also delete images no sample uses (only while no "
                             "one writes)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.store import fsck

    report = fsck(args.store, repair=args.repair, min_age_s=args.min_age,
                  prune_images=args.prune_images)
    emit(args, report)
    # Like fsck(8): problems found and left in place are a non-zero exit, for scripts.
    return 0 if report["ok"] or args.repair else 1
