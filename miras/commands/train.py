"""`miras train --stage {0,1,2} --data DIR --init MODEL --out DIR`: train, resumably.

Several processes: `torchrun --nproc_per_node N -m miras.cli train ...` (gloo on CPU, NCCL on GPU);
`--batch-size` is the global batch, split evenly across the processes.
"""

from __future__ import annotations

import argparse

from miras.commands import print_json

HELP = "train a model (stage 0 from scratch, 1 mask-text alignment, 2 dialogues); resumable"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", type=int, choices=(0, 1, 2), required=True)
    parser.add_argument("--data", required=True, help="a PRIST-layout folder, or synth:SEED for endless synthetic data")
    parser.add_argument("--init", required=True, help='a model to start from: "demo", a folder, or preset:NAME (random)')
    parser.add_argument("--out", required=True, help="output folder; an existing run there is resumed")
    parser.add_argument("--eval", default=None, help="held-out PRIST folder (or synth:SEED) for periodic evaluation")
    parser.add_argument("--policy", default=None, help="trainable set: paper, authors, sam, all or all-but-towers (default: all for stage 0, else paper)")
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--eval-every", type=int, default=200)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bf16", action="store_true",
                        help="bfloat16 autocast where the device has it natively (float32, with a warning, on a CPU without AVX512-BF16 or AMX)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the model's parts: after a minute or two of compiling, steps are 15-45%% faster on a CPU")
    parser.add_argument("--no-feature-cache", action="store_true", help="stage 2: always run the full forward")
    parser.add_argument("--workers", type=int, default=0,
                        help="DataLoader processes making the coming batches while a step trains (a GPU needs several)")
    parser.add_argument("--device", default=None)


def open_source(spec: str, stage: int, size: int = 128):
    from miras.training.data import PristSource, SynthSource

    if spec.startswith("synth:"):
        return SynthSource(seed=int(spec.split(":", 1)[1]), stage=stage, size=size)
    return PristSource(spec, stage=stage)


def initial_model(spec: str):
    import miras
    from miras.checkpoint import build

    if spec.startswith("preset:"):
        return build(spec.split(":", 1)[1])
    return miras.load(spec)


def run(args: argparse.Namespace) -> int:
    import os

    from miras.training.loop import train
    from miras.training.settings import TrainSettings

    settings = TrainSettings(
        stage=args.stage,
        policy=args.policy or ("all" if args.stage == 0 else "paper"),
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        eval_every=args.eval_every,
        save_every=args.save_every,
        seed=args.seed,
        bf16=args.bf16,
        compile=args.compile,
        feature_cache=not args.no_feature_cache,
        workers=args.workers,
    )
    model = initial_model(args.init)
    source = open_source(args.data, args.stage)
    eval_source = open_source(args.eval, args.stage) if args.eval else None
    metrics = train(model, source, settings, args.out, eval_source=eval_source, device=args.device)
    if os.environ.get("RANK", "0") == "0":  # under torchrun, one report
        print_json({"out": args.out, "metrics": metrics})
    return 0
