"""Does the model name the target it is asked for? `python benchmarks/naming.py --json`

Given a held-out synthetic dialogue whose answer is `[OBJ]{name}[SEG]` (teacher-forced: the
ground-truth turns are the input), count the dialogues where the argmax of the LLM's logits
reproduces the whole `{name}[SEG]` span. Once with each dialogue's own image and once with the
next dialogue's image: a name that comes as often from a wrong image is read from the text.
Split by single requests and multi-turn dialogues.

Then the same dialogues played turn by turn, as `miras eval` plays them (the human turns sent in
order, the model's own answers kept as history): how often the last reply names the target, and
the mean mask IoU when it does and when it does not. The turn-by-turn cIoU is roughly the first
times the second, so this says which of the two holds it back. Prints one JSON object.
"""

from __future__ import annotations

import json
import re
import sys

import torch

from miras.training.data import OBJ_PHRASE


def names_exactly(predicted: torch.Tensor, ids: torch.Tensor, obj_id: int, seg_id: int) -> bool:
    """predicted[t] is the argmax after ids[: t + 1]: does it give every token after the last
    `[OBJ]` up to and including its `[SEG]`?"""
    obj = int((ids == obj_id).nonzero().flatten()[-1])
    seg = int((ids == seg_id).nonzero().flatten()[-1])
    return bool((predicted[obj:seg] == ids[obj + 1 : seg + 1]).all())


@torch.no_grad()
def named(model, item, image) -> bool:
    from miras.batch import collate, make_example

    batch = collate([make_example(model, image, item.turns, item.masks)])
    features = model.encode_images(batch.clip, batch.aux, batch.sam)
    spliced = model.splice(batch.input_ids, features.visual_tokens)
    hidden = model.hidden_states(spliced.embeds, spliced.attention_mask)[0]
    predicted = model.llm.get_output_embeddings()(hidden).argmax(-1)
    return names_exactly(predicted, spliced.ids[0], model.token_ids.obj, model.token_ids.seg)


def names_target(reply: str, phrase: str) -> bool:
    """Does a reply, as the user reads it (special tokens dropped), name `phrase` itself: not a
    part of it ("the red house door" does not name "the red house")?"""
    return re.search(re.escape(phrase.strip().lower()) + r"(?=\s*[.,!?;]|\s*$)", reply.lower()) is not None


def turn_by_turn(model, items) -> dict:
    """Play each item's human turns as `miras eval` does; the mask IoUs are split by whether the
    last reply names the target."""
    from miras.evaluate import play_turns
    from miras.metrics import MaskMeter

    meters = {True: MaskMeter(), False: MaskMeter()}
    for item in items:
        prediction, replies = play_turns(model.chat(item.image), [text for role, text in item.turns if role == "human"])
        phrase = OBJ_PHRASE.search(item.turns[-1][1]).group(1)
        meters[names_target(replies[-1], phrase)].update(prediction, item.masks[-1] > 0)
    named_it, not_named = meters[True], meters[False]
    return {"turn_by_turn_named": named_it.n, "turn_by_turn_total": named_it.n + not_named.n,
            "turn_by_turn_iou_named": named_it.compute()["giou"] if named_it.n else None,
            "turn_by_turn_iou_not_named": not_named.compute()["giou"] if not_named.n else None}


def main(argv: list[str] | None = None) -> int:
    import heldout  # benchmarks/ is on the path when this file runs as a script

    args = heldout.parse(__doc__, argv)
    model, items = heldout.model_and_dialogues(args)
    counts = {"single": [0, 0], "dialogue": [0, 0], "wrong_image": [0, 0]}
    for k, item in enumerate(items):
        kind = "single" if len(item.turns) == 2 else "dialogue"
        counts[kind][0] += named(model, item, item.image)
        counts[kind][1] += 1
        counts["wrong_image"][0] += named(model, item, items[(k + 1) % len(items)].image)
        counts["wrong_image"][1] += 1
    result = {"model": args.model} | {f"{key}_named": hit for key, (hit, _) in counts.items()} | {
        f"{key}_total": total for key, (_, total) in counts.items()} | turn_by_turn(model, items)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
