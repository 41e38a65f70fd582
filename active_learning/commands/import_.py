"""`miras-al import --prist DIR --store STORE`: PRIST dialogues in as curated samples."""

from __future__ import annotations

import argparse

from active_learning.commands.common import add_json, add_store, emit, progress_bar
from active_learning.commands.score import add_model

HELP = ("load a PRIST-format folder into a store: as curated ground truth, or with --unlabeled "
        "as proposed items for the queue")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prist", required=True, help="folder with prist.json, images/, masks/")
    add_store(parser)
    parser.add_argument("--limit", type=int, default=None, help="only the first N dialogues")
    parser.add_argument("--unlabeled", action="store_true",
                        help="add the dialogues as proposed items (masks are not read); their "
                             "proposals and scores come from --model")
    add_model(parser)
    parser.add_argument("--paraphrases", type=int, default=2,
                        help="with --unlabeled: rewordings per item for scoring (default: 2)")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="with --unlabeled: longest reply (default: the model's limit)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.prist_io import import_prist
    from active_learning.store import open_store

    store = open_store(args.store)
    bar, advance = progress_bar("import", "dialogue")
    with bar:
        if args.unlabeled:
            summary = _unlabeled(store, args, advance)
        else:
            summary = import_prist(store, args.prist, limit=args.limit, on_progress=advance)
    emit(args, summary)
    return 0


def _unlabeled(store, args: argparse.Namespace, advance) -> dict:
    from active_learning.models import load_model
    from active_learning.prist_io import import_unlabeled
    from active_learning.scoring import ScoreSettings

    model, version = load_model(args.model or "demo", args.model_version)
    return import_unlabeled(store, args.prist, model, version, limit=args.limit,
                            settings=ScoreSettings(args.paraphrases, args.max_new_tokens),
                            on_progress=advance)
