"""`miras-al score --store S --model M`: compute the acquisition scores the strategies rank by."""

from __future__ import annotations

import argparse

from active_learning.commands.common import (
    add_json,
    add_store,
    emit,
    open_existing_store,
    progress_bar,
)

HELP = "score the proposed samples of a store with a model (once per model version)"


def add_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None,
                        help='"demo", a checkpoint folder or a registry (its current version)')
    parser.add_argument("--model-version", default=None,
                        help="name to file the scores under (default: the registry version or "
                             "the checkpoint folder's name)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_store(parser)
    add_model(parser)
    parser.add_argument("--paraphrases", type=int, default=2,
                        help="rewordings of the request per item, for disagreement (default: 2)")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="longest reply while probing (default: the model's limit)")
    parser.add_argument("--force", action="store_true", help="rescore items scored already")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.models import load_model
    from active_learning.scoring import ScoreSettings, score_store

    store = open_existing_store(args.store)  # before the model: a typo should not wait for it
    model, version = load_model(args.model or "demo", args.model_version)
    settings = ScoreSettings(paraphrases=args.paraphrases, max_new_tokens=args.max_new_tokens)
    bar, advance = progress_bar("score", "item")
    with bar:
        summary = score_store(store, model, version, settings=settings,
                              force=args.force, on_progress=advance)
    emit(args, summary)
    return 0
