"""Does the LLM read the image? `python benchmarks/image_use.py --json`

Three figures on held-out synthetic dialogues (teacher-forced):
- the text loss of the answers given each dialogue's own image and given the next dialogue's
  image: a model that reads the image must do worse with the wrong one (`ce_gap` > 0);
- the same for the masks: the cIoU of the [SEG] masks when the LLM is shown the own image's
  visual tokens or the next dialogue's (SAM always sees the own image). Equal figures mean the
  [SEG] prompt carries no image: the masks come from the phrase and SAM alone;
- the visual tokens the LLM receives: their mean norm, and how much of it changes from image to
  image (`visual_spread`, relative). A spread near 0 means the towers feed a constant.
Prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import torch


@torch.no_grad()
def answer_loss(model, item, image) -> float:
    """Teacher-forced text loss of the item's answers, its turns shown with `image`."""
    from miras.batch import collate, make_example

    batch = collate([make_example(model, image, item.turns, item.masks)])
    features = model.encode_images(batch.clip, batch.aux, batch.sam)
    spliced = model.splice(batch.input_ids, features.visual_tokens, batch.labels)
    hidden = model.hidden_states(spliced.embeds, spliced.attention_mask)
    return float(model.text_loss(hidden, spliced.labels))


@torch.no_grad()
def seg_masks(model, item, image) -> tuple:
    """The item's [SEG] masks and targets, its turns shown to the LLM with `image`'s visual
    tokens, while SAM segments the item's own image."""
    from miras.batch import collate, make_example

    own = collate([make_example(model, item.image, item.turns, item.masks)])
    shown = collate([make_example(model, image, item.turns, item.masks)])
    spliced = model.splice(own.input_ids, model.visual_tokens(shown.clip, shown.aux))
    hidden = model.hidden_states(spliced.embeds, spliced.attention_mask)[0]
    prompts = model.seg_prompts(hidden, spliced.ids[0])
    sam_embedding = model.sam.image_encoder(own.sam.to(model.device, model.dtype))
    masks, _ = model.predict_masks(sam_embedding, prompts, own.input_sizes[0], tuple(own.masks[0].shape[-2:]))
    return masks, own.masks[0] > 0.5


def seg_figures(model, items) -> dict:
    """cIoU of the [SEG] masks with the own image's visual tokens and with the next item's."""
    from miras.metrics import MaskMeter

    meters = {"own": MaskMeter(), "other": MaskMeter()}
    for k, item in enumerate(items):
        for name, image in (("own", item.image), ("other", items[(k + 1) % len(items)].image)):
            for predicted, target in zip(*seg_masks(model, item, image)):
                meters[name].update(predicted.cpu().numpy(), target.cpu().numpy())
    return {f"seg_ciou_{name}_image": meter.compute()["ciou"] for name, meter in meters.items()}


@torch.no_grad()
def visual_token_figures(model, items) -> dict:
    """Mean norm of the visual tokens, and the mean norm of their deviation across the items'
    images relative to it."""
    from miras.batch import collate, make_example

    batch = collate([make_example(model, item.image, item.turns, item.masks) for item in items])
    tokens = model.encode_images(batch.clip, batch.aux, batch.sam).visual_tokens.float()
    norm = float(tokens.norm(dim=-1).mean())
    spread = float((tokens - tokens.mean(0)).norm(dim=-1).mean())
    return {"visual_norm": norm, "visual_spread": spread / norm}


def main(argv: list[str] | None = None) -> int:
    import heldout  # benchmarks/ is on the path when this file runs as a script

    args = heldout.parse(__doc__, argv)
    model, items = heldout.model_and_dialogues(args)
    own = [answer_loss(model, item, item.image) for item in items]
    other = [answer_loss(model, item, items[(k + 1) % len(items)].image) for k, item in enumerate(items)]
    ce_own, ce_other = sum(own) / len(own), sum(other) / len(other)
    result = {"model": args.model, "dialogues": len(items), "ce_own_image": ce_own, "ce_other_image": ce_other,
              "ce_gap": ce_other - ce_own} | seg_figures(model, items) | visual_token_figures(model, items[:16])
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
