"""`miras-al replay --store S --model M --json`: replay stored dialogues against a model."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_store, emit, progress_bar
from active_learning.commands.score import add_model

HELP = ("play the stored dialogues (human turns in order) against a model and compare its masks "
        "with the corrections (cIoU, gIoU)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    add_model(parser)
    parser.add_argument("--status", action="append", default=None,
                        choices=("curated", "corrected"),
                        help="samples to replay (default: curated; repeat to add corrected)")
    parser.add_argument("--sample", action="append", default=None, metavar="ID",
                        help="only these samples (repeatable)")
    parser.add_argument("--limit", type=int, default=None, help="at most N dialogues")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="longest reply (default: the model's limit)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.models import load_model
    from active_learning.replay import replay_store
    from active_learning.store import open_store

    model, version = load_model(args.model or "demo", args.model_version)
    bar, advance = progress_bar("replay", "dialogue")
    with bar:
        figures = replay_store(open_store(args.store, mode="r"), model,
                               statuses=tuple(args.status or ("curated",)),
                               sample_ids=args.sample, limit=args.limit,
                               max_new_tokens=args.max_new_tokens, on_progress=advance)
    emit(args, {"model": args.model or "demo", "model_version": version, **figures})
    return 0
