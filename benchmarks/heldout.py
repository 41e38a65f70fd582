"""What the LLM benchmarks (`naming.py`, `image_use.py`) share: their options, the model and the
held-out synthetic dialogues they read."""

from __future__ import annotations

import argparse


def parse(description: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo")
    parser.add_argument("--dialogues", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1000, help="synthetic seed (the demo recipe holds out 1000)")
    parser.add_argument("--items", default="dialogues", choices=("dialogues", "solid", "named-colour"),
                        help="held-out dialogues, or the demo recipe's image-first lessons")
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser.parse_args(argv)


def model_and_dialogues(args: argparse.Namespace):
    """The model in fp32 eval mode and `args.dialogues` held-out items (`args.items`) whose answers
    name their target."""
    import miras
    from miras.training.data import SynthSource
    from miras.training.grounding import NamedColourSource, SolidColourSource

    model = miras.load(args.model).float().eval()
    sources = {
        "dialogues": lambda: SynthSource(args.seed, stage=0, size=128, obj_answer_share=1.0),
        "solid": lambda: SolidColourSource(args.seed),
        "named-colour": lambda: NamedColourSource(args.seed),
    }
    source = sources[args.items]()
    return model, [source.item(i) for i in range(args.dialogues)]
