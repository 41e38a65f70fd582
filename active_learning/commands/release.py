"""`miras-al release --store S --sample ID --annotator NAME`: hand an item back unannotated."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_store, emit, open_existing_store

HELP = "give back an item served by `next` before its lease expires"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    parser.add_argument("--sample", required=True, help="the sample id")
    parser.add_argument("--annotator", required=True, help="who holds it")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.queue import release

    released = release(open_existing_store(args.store), args.sample, args.annotator)
    emit(args, {"sample_id": args.sample, "annotator": args.annotator, "released": released})
    return 0 if released else 1
