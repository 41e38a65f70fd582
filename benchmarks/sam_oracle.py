"""What can a preset's SAM learn when it is told the name exactly? `python benchmarks/sam_oracle.py --json`

A fresh SAM of the preset (image encoder and mask decoder from random, as the demo recipe's
SAM starts) learns on synthetic named dialogues with an oracle prompt instead of the LLM's:
the mean of learned embeddings of the words of the target's name (`[OBJ]the blue star[SEG]`
-> "the", "blue", "star"). Every `--eval-every` steps it prints `mask_errors`' figures on
held-out dialogues: whole objects and parts on target, and whole objects on target when another
object shares their colour. No LLM can give SAM a better prompt, so these are the ceiling of a
SAM this size and this long trained; a wider one is tried with `--encoder DIM,DEPTH`.
`--words kind` drops the colour words (training and held out): SAM must then find things by
their kind. `--kind-first N` drops them from the first N training steps only. Prints one JSON
object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from miras.training.data import OBJ_PHRASE
from miras.training.precision import use_bf16


def oracle_words(phrase: str, colours: set[str], kind_only: bool = False) -> list[str]:
    """The words of a target's name, less its colour words for `kind_only`."""
    words = phrase.lower().replace(",", " ").split()
    return [word for word in words if not (kind_only and word in colours)]


class WordBag(nn.Module):
    """The oracle prompt: the mean of one learned embedding per word (words are added as seen)."""

    def __init__(self, dim: int, capacity: int = 512) -> None:
        super().__init__()
        self.embedding = nn.Embedding(capacity, dim)
        nn.init.normal_(self.embedding.weight)
        self.ids: dict[str, int] = {}

    def forward(self, names: list[list[str]]) -> torch.Tensor:
        rows = []
        for words in names:
            ids = [self.ids.setdefault(word, len(self.ids)) for word in words]
            if len(self.ids) > self.embedding.num_embeddings:
                raise ValueError(f"more than {self.embedding.num_embeddings} distinct words in the names")
            rows.append(self.embedding(torch.tensor(ids)).mean(0))
        return torch.stack(rows)


def sam_config(preset_name: str, encoder: str | None):
    """The preset's SamConfig; `encoder` "DIM,DEPTH" widens or deepens its image encoder (heads of
    32 channels, global attention in the middle and last layers, as SAM's ViTs place it)."""
    from miras.presets import preset

    config = preset(preset_name).sam
    if not encoder:
        return config
    dim, depth = (int(value) for value in encoder.split(","))
    return replace(config, encoder_embed_dim=dim, encoder_depth=depth, encoder_num_heads=max(1, dim // 32),
                   encoder_global_attn_indexes=(depth // 2 - 1, depth - 1))


class OracleSam:
    """A fresh SAM and its word bag, trained and judged on one source's items."""

    def __init__(self, config, seed: int = 0) -> None:
        from miras.config import LossWeights
        from miras.modeling.sam import build_sam
        from miras.synth.domain import get_domain
        from miras.training.demo_recipe import DemoRecipe

        torch.manual_seed(seed)
        self.config = config
        self.sam, self.words = build_sam(config), WordBag(config.prompt_dim)
        self.colours = set(get_domain("base").colours)
        recipe = DemoRecipe()  # the recipe's mask loss: its BCE and Dice weights, and the IoU head's
        self.loss_weights = (recipe.bce_weight, recipe.dice_weight, LossWeights().iou)
        # As training does (miras.training.precision): emulated bf16 made a short run here 6x slower.
        self.bf16 = use_bf16(True, torch.device("cpu"))

    def parameters(self) -> list[nn.Parameter]:
        sam = self.sam
        return [*sam.image_encoder.parameters(), *sam.mask_decoder.parameters(), *self.words.parameters()]

    def logits(self, items, kind_only: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """Mask logits at the items' size (all one size) and SAM's predicted IoU; the prompts hold
        every word of the names, or all but their colours."""
        from miras.modeling.sam import decode_masks, masks_at_original_size
        from miras.preprocess import sam_view

        views = [sam_view(item.image, self.config.image_size) for item in items]
        names = [oracle_words(OBJ_PHRASE.search(item.turns[-1][1]).group(1), self.colours, kind_only)
                 for item in items]
        with torch.autocast("cpu", torch.bfloat16, enabled=self.bf16):
            embedding = self.sam.image_encoder(torch.stack([view for view, _ in views]))
            low, predicted_iou = decode_masks(self.sam, embedding, self.words(names))
        logits = masks_at_original_size(self.sam, low.float(), views[0][1], items[0].image.shape[:2])
        return logits, predicted_iou.float()


def train_step(oracle: OracleSam, optimizer, items, kind_only: bool) -> float:
    """One step of the demo recipe's mask loss (its BCE and Dice weights, and the IoU head's error)."""
    from miras.modeling.losses import mask_losses

    logits, predicted_iou = oracle.logits(items, kind_only)
    targets = torch.stack([torch.from_numpy(item.masks[0]) for item in items]).float()
    loss = mask_losses([logits], [targets], [predicted_iou])
    bce, dice, iou = oracle.loss_weights
    total = bce * loss.bce + dice * loss.dice + iou * loss.iou
    optimizer.zero_grad(set_to_none=True)
    total.backward()
    torch.nn.utils.clip_grad_norm_(oracle.parameters(), 1.0)
    optimizer.step()
    return total.item()


@torch.no_grad()
def judge(oracle: OracleSam, source, count: int, kind_only: bool) -> dict:
    """mask_errors' figures, and cIoU, on the first `count` items of a held-out source."""
    from mask_errors import Tally, scene_regions  # benchmarks/ is on the path as a script

    from miras.metrics import MaskMeter

    oracle.sam.eval()
    tally, meter = Tally(), MaskMeter()
    for index in range(count):
        item = source.item(index)
        predicted = (oracle.logits([item], kind_only)[0][0] > 0).numpy()
        target = item.masks[0] > 0.5
        meter.update(predicted, target)
        tally.add(predicted, target, scene_regions(source.annotation(index)))
    oracle.sam.train()
    return {"ciou": meter.compute()["ciou"]} | tally.figures()


def headline(figures: dict) -> dict:
    """The few figures a curve point keeps."""
    shared = figures["by_colour"].get("shared", {}).get("whole", {})
    own = figures["by_colour"].get("own", {}).get("whole", {})
    return {
        "ciou": figures["ciou"],
        "whole_on_target": figures.get("whole", {}).get("on_target"),
        "part_on_target": figures.get("part", {}).get("on_target"),
        "whole_colour_shared_on_target": shared.get("on_target"),
        "whole_colour_shared_n": shared.get("n"),
        "whole_colour_shared_iou_colour_union": shared.get("iou_colour_union"),
        "whole_own_colour_on_target": own.get("on_target"),
    }


def run(args: argparse.Namespace, log=print) -> dict:
    from miras.training.data import SynthSource
    from miras.training.schedule import warmup_decay

    torch.set_num_threads(args.threads)
    config = sam_config(args.preset, args.encoder)
    oracle, kind_only = OracleSam(config), args.words == "kind"
    train_items = SynthSource(0, stage=0, size=config.image_size, obj_answer_share=1.0)
    held_out = SynthSource(args.seed, stage=0, size=config.image_size, obj_answer_share=1.0)
    optimizer = torch.optim.AdamW(oracle.parameters(), lr=args.lr, weight_decay=0.0)
    curve, losses, started = [], [], time.time()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * warmup_decay(step, min(100, args.steps // 10), args.steps)
        items = [train_items.item(step * args.batch + k) for k in range(args.batch)]
        losses.append(train_step(oracle, optimizer, items, kind_only or step < args.kind_first))
        if (step + 1) % args.eval_every == 0 or step + 1 == args.steps:
            point = {"step": step + 1, "minutes": round((time.time() - started) / 60, 2),
                     "loss": float(np.mean(losses[-args.eval_every:]))}
            curve.append(point | headline(judge(oracle, held_out, args.dialogues, kind_only)))
            log(json.dumps(curve[-1]))
    return {"preset": args.preset, "sam": {"encoder_embed_dim": config.encoder_embed_dim,
                                           "encoder_depth": config.encoder_depth},
            "bf16": oracle.bf16, "words": args.words, "kind_first": args.kind_first, "batch": args.batch, "lr": args.lr, "curve": curve}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--encoder", default=None, metavar="DIM,DEPTH", help="widen or deepen SAM's image encoder")
    parser.add_argument("--words", default="all", choices=("all", "kind"), help="kind: no colour words")
    parser.add_argument("--kind-first", type=int, default=0, metavar="N", help="no colour words in the first N steps")
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--dialogues", type=int, default=300, help="held-out dialogues judged each time")
    parser.add_argument("--seed", type=int, default=1000, help="held-out synthetic seed (the demo recipe's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print only the JSON object")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    figures = run(args, log=(lambda line: None) if args.json else print)
    print(json.dumps(figures) if args.json else json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
