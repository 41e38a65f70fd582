"""`miras demo-train --out DIR`: reproduce the bundled demo model from a seed (about 3 hours)."""

from __future__ import annotations

import argparse

from miras.commands import print_json

HELP = "train the demo model from scratch on synthetic data (about 3 hours on 2 CPU cores)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from miras.checkpoint import BUNDLED
    from miras.training.demo_recipe import COUNT_OPTIONS, DemoRecipe

    parser.add_argument("--out", default=str(BUNDLED / "demo"), help="where the model goes")
    parser.add_argument("--work", default="runs/demo-train", help="intermediate checkpoints (resumable)")
    parser.add_argument("--seed", type=int, default=0)
    for name in COUNT_OPTIONS:  # the same list recipe_flags writes on the model card
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                            help=f"default: {getattr(DemoRecipe(), name)}")
    parser.add_argument("--workers", type=int, default=0,
                        help="DataLoader processes making batches ahead: the same model, faster where cores are spare (not on 2)")
    parser.add_argument("--no-compile", action="store_true",
                        help="run every stage eagerly (torch.compile needs a C++ compiler; results match up to float rounding)")
    variant = parser.add_mutually_exclusive_group()
    variant.add_argument("--towers-from-scratch", action="store_true",
                         help="the model bundled before: towers trained from random init, no captions (weaker)")
    variant.add_argument("--image-lessons", action="store_true",
                         help="image-first lessons, towers kept at their random init (weaker; see DemoRecipe)")
    variant.add_argument("--pretrain-towers", action="store_true",
                         help="towers pre-trained, then trained on; no captions (weaker)")


def recipe_from(args: argparse.Namespace):
    from miras.training.demo_recipe import COUNT_OPTIONS, VARIANTS, DemoRecipe

    recipe = DemoRecipe(seed=args.seed, compile=not args.no_compile, workers=args.workers)
    for name, make in VARIANTS.items():
        if getattr(args, name.replace("-", "_")):
            recipe = make(recipe)
    for name in COUNT_OPTIONS:
        if getattr(args, name) is not None:
            setattr(recipe, name, getattr(args, name))
    return recipe


def run(args: argparse.Namespace) -> int:
    from miras.training.demo_recipe import demo_train

    print_json(demo_train(args.out, args.work, recipe_from(args)))
    return 0
