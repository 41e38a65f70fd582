"""`miras demo-train --out DIR`: reproduce the bundled demo model from a seed (about an hour)."""

from __future__ import annotations

import argparse

HELP = "train the demo model from scratch on synthetic data (about an hour on 2 CPU cores)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from miras.checkpoint import BUNDLED

    parser.add_argument("--out", default=str(BUNDLED / "demo"), help="where the model goes")
    parser.add_argument("--work", default="runs/demo-train", help="intermediate checkpoints (resumable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stage1-steps", type=int, default=None)
    parser.add_argument("--stage0-steps", type=int, default=None)
    parser.add_argument("--stage2-steps", type=int, default=None)
    parser.add_argument("--image-lessons", action="store_true",
                        help="image-first lessons, towers kept at their random init (measured weaker; see DemoRecipe)")
    parser.add_argument("--pretrain-towers", action="store_true",
                        help="pre-train the visual towers on patch coverage first (they train on after)")
    parser.add_argument("--captions", action="store_true",
                        help="pre-trained towers kept frozen, and a caption lesson after stage 0 (session-7 probes)")


def recipe_from(args: argparse.Namespace):
    from miras.training.demo_recipe import (
        DemoRecipe,
        with_captions,
        with_image_lessons,
        with_pretrained_towers,
    )

    recipe = DemoRecipe(seed=args.seed)
    if args.image_lessons:
        recipe = with_image_lessons(recipe)
    if args.pretrain_towers:
        recipe = with_pretrained_towers(recipe)
    if args.captions:
        recipe = with_captions(recipe)
    if args.stage1_steps is not None:
        recipe.stage1_steps = args.stage1_steps
    if args.stage0_steps is not None:
        recipe.stage0_steps = args.stage0_steps
    if args.stage2_steps is not None:
        recipe.stage2_steps = args.stage2_steps
    return recipe


def run(args: argparse.Namespace) -> int:
    import json

    from miras.training.demo_recipe import demo_train

    print(json.dumps(demo_train(args.out, args.work, recipe_from(args))))
    return 0
