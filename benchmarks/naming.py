"""Does the model name the target it is asked for? `python benchmarks/naming.py --json`

Given a held-out synthetic dialogue whose answer is `[OBJ]{name}[SEG]` (teacher-forced: the
ground-truth turns are the input), count the dialogues where the argmax of the LLM's logits
reproduces the whole `{name}[SEG]` span. Once with each dialogue's own image and once with the
next dialogue's image: a name that comes as often from a wrong image is read from the text.
Split by single requests and multi-turn dialogues; prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import torch


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
        f"{key}_total": total for key, (_, total) in counts.items()}
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
