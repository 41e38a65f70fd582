"""`miras-al simulate --data DIR --strategy S --rounds R --per-round K --seed N --json`."""

from __future__ import annotations

import argparse
import sys

from active_learning.commands.common import add_json, add_training, emit

HELP = "an active-learning run with the ground truth as the annotator: the learning curve"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from active_learning.simulate import SimulationSettings
    from active_learning.strategies import STRATEGIES

    d = SimulationSettings()
    parser.add_argument("--data", required=True, help="a PRIST folder with masks (the truth)")
    parser.add_argument("--strategy", default="random", choices=list(STRATEGIES),
                        help="how items are picked (default: random)")
    parser.add_argument("--model", default="demo",
                        help='the starting model: "demo", "tiny", a checkpoint folder or a '
                             "registry (default: demo)")
    parser.add_argument("--rounds", type=int, default=d.rounds, help=f"default: {d.rounds}")
    parser.add_argument("--per-round", type=int, default=d.per_round,
                        help=f"items labeled per round (default: {d.per_round})")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"default: {d.seed}")
    parser.add_argument("--pool", type=int, default=d.pool,
                        help=f"unlabeled dialogues at most (default: {d.pool})")
    parser.add_argument("--heldout", type=int, default=d.heldout,
                        help=f"held-out dialogues, whole images (default: {d.heldout})")
    add_training(parser, d, "training steps per round")
    parser.add_argument("--paraphrases", type=int, default=d.paraphrases,
                        help=f"rewordings per item when scoring (default: {d.paraphrases})")
    parser.add_argument("--max-new-tokens", type=int, default=None,
                        help="longest reply while scoring (default: the model's limit)")
    parser.add_argument("--work", default=None,
                        help="folder for the scratch store and models (default: a temporary one)")
    add_json(parser)


def run(args: argparse.Namespace) -> int:
    from active_learning.simulate import SimulationSettings, simulate

    settings = SimulationSettings(
        rounds=args.rounds, per_round=args.per_round, seed=args.seed, pool=args.pool,
        heldout=args.heldout, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
        paraphrases=args.paraphrases, max_new_tokens=args.max_new_tokens,
    )

    def show(point: dict) -> None:
        print(f"round {point['round']}: {point['labeled']} labeled, cIoU {point['ciou']:.4f}",
              file=sys.stderr)

    result = simulate(args.data, args.model, args.strategy, settings, work=args.work,
                      on_point=show)
    emit(args, result, _table)
    return 0


def _table(result: dict) -> str:
    lines = [f"{result['strategy']}: pool {result['pool']}, held out {result['heldout']}",
             f"{'round':>5} {'labeled':>7} {'cIoU':>7} {'gIoU':>7}"]
    for p in result["curve"]:
        lines.append(f"{p['round']:>5} {p['labeled']:>7} {p['ciou']:>7.4f} {p['giou']:>7.4f}")
    return "\n".join(lines)
